"""Every treatment entered from the patient page, as a clinician would (issue 9).

Hydroxychloroquine throughout, a lenalidomide course with a hold for
neutropenia and a dose reduction, withdrawn in remission, a prednisone burst
after it and a thalidomide restart; a course that would overlap lenalidomide
is refused beside its field. The patient page then lists them all.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from django.urls import reverse

from tests.browser.conftest import sign_in_through_form

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = os.environ.get("CLE_SCREENSHOTS")  # set to keep a picture of the page


def _start_course(page, drug: str, start: str, mg: str, every: str = "daily") -> None:
    box = page.locator("details.start-course")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    select = box.locator("select[name=drug]")
    if select.input_value() != drug:
        # Choosing the drug re-renders the fields (htmx): wait for the new ones
        # (the dose field names the drug's range) before typing into them.
        select.select_option(drug)
        expect(page.locator("details.start-course input[name=mg]")).to_have_attribute(
            "placeholder", RANGES[drug]
        )
    box.get_by_label("Start date").fill(start)
    box.get_by_label("Dose (mg)").fill(mg)
    box.get_by_label("How often").select_option(label=every)
    _submit(page, box.get_by_role("button", name="Start course"))


RANGES = {"hydroxychloroquine": "100-600", "thalidomide": "25-400", "prednisone": "1-100"}


def _submit(page, button) -> None:
    """Click and wait for the page the server answers with (a redirect or the form again)."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        button.click()


def _course(page, drug: str, nth: int = 0):
    return page.locator(f".course[data-drug={drug}]").nth(nth)


def _open(course, summary: str):
    course.locator("summary", has_text=summary).click()
    return course.locator("details[open]", has=course.page.locator("summary", has_text=summary))


def test_a_refractory_patients_treatments_entered_in_the_browser(
    page, live_server, transactional_db, clinician_a, patient_a
):
    from patients.models import Course, Interruption

    sign_in_through_form(page, live_server, clinician_a.get_username())
    detail = live_server.url + reverse("patients:detail", args=[patient_a.pk])
    page.goto(detail)

    _start_course(page, "hydroxychloroquine", "2024-01-08", "200")
    _start_course(page, "lenalidomide", "2025-01-06", "10")

    lena = _course(page, "lenalidomide")
    hold = _open(lena, "Record an interruption")
    hold.get_by_label("Held from").fill("2025-02-03")
    hold.get_by_label("Resumed on").fill("2025-02-17")
    hold.get_by_label("Reason").fill("neutropenia grade 3")
    _submit(page, hold.get_by_role("button", name="Record interruption"))

    dose = _open(_course(page, "lenalidomide"), "Change the dose")
    dose.get_by_label("From").fill("2025-03-03")
    dose.get_by_label("Dose (mg)").fill("5")
    _submit(page, dose.get_by_role("button", name="Save dose step"))

    withdrawal = _open(_course(page, "lenalidomide"), "Record withdrawal")
    withdrawal.get_by_label("Withdrawal date").fill("2025-06-02")
    withdrawal.get_by_label("Reason").select_option("remission")
    _submit(page, withdrawal.get_by_role("button", name="Record withdrawal"))

    # Thalidomide while lenalidomide ran: refused beside the start date, nothing written.
    _start_course(page, "thalidomide", "2025-05-05", "50")
    error = page.locator("#id_start_error")
    error.wait_for()
    assert "never taken together" in error.inner_text()
    assert Course.objects.filter(drug="thalidomide").count() == 0
    page.goto(detail)

    _start_course(page, "prednisone", "2025-06-23", "30")
    stop = _open(_course(page, "prednisone"), "Record withdrawal")
    stop.get_by_label("Withdrawal date").fill("2025-07-14")
    stop.get_by_label("Reason").select_option("other")
    _submit(page, stop.get_by_role("button", name="Record withdrawal"))

    _start_course(page, "thalidomide", "2025-08-04", "50")

    assert page.url == detail  # redirected back: the course was saved
    # The page lists every treatment, the hold and the reduction.
    drugs = page.get_by_test_id("course-drug").all_inner_texts()
    assert drugs == ["Hydroxychloroquine", "Lenalidomide", "Prednisone", "Thalidomide"]
    hcq = _course(page, "hydroxychloroquine").inner_text()
    assert "2024-01-08" in hcq and "ongoing" in hcq and "200 mg daily" in hcq
    lena_text = _course(page, "lenalidomide").inner_text()
    assert "10 mg daily" in lena_text and "2025-03-03: 5 mg daily" in lena_text
    assert "Held 2025-02-03 – resumed 2025-02-17" in lena_text and "neutropenia grade 3" in lena_text
    assert "2025-06-02" in lena_text and "Remission" in lena_text
    assert "2025-07-14" in _course(page, "prednisone").inner_text()
    assert "ongoing" in _course(page, "thalidomide").inner_text()
    assert Interruption.objects.get().reason == "neutropenia grade 3"
    assert Course.objects.filter(patient=patient_a).count() == 4
    if SCREENSHOT_DIR:
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "treatments-patient-page.png"), full_page=True)


def test_the_patient_lists_treatments_stack_within_a_phone_screen(sign_in, live_server, clinician_a, patient_a):
    """At 390 px the list's rows stack (label, value); a patient on three drugs
    shows them one under the other beside "Treatment today", not side by side
    past the edge of the screen (the cell is a flex row: its <br>s did nothing)."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from patients import services

    today = timezone.localdate()
    services.start_course(patient_a, start=today - dt.timedelta(days=40), mg=Decimal("5"))
    services.start_course(patient_a, start=today - dt.timedelta(days=400), mg=Decimal("200"),
                          drug="hydroxychloroquine")
    services.start_course(patient_a, start=today - dt.timedelta(days=30), mg=Decimal("100"), drug="aspirin")
    page = sign_in(clinician_a)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("patients:list"))
    spans = page.locator("td.treatments .treatment")
    expect(spans).to_have_count(3)
    boxes = [spans.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"], boxes  # one under the other
    assert len({round(b["x"]) for b in boxes}) == 1, boxes  # aligned in the value column
    assert all(b["x"] + b["width"] <= 390 for b in boxes), boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
