"""The visit screen in a real browser: keyboard entry with live scores and
body map, tampering refused, viewers without write controls, the tablet fit.

Expected scores are worked out by hand from clasi.md 1.4 in each test, never
read from the scorer.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FIRST_CELL = "#id_clasi-scalp-erythema"


def _type_cells(page, values: list[str]) -> None:
    """Type one digit per cell and Tab to the next, as a clinician would;
    an empty string just Tabs past a cell left blank (it scores 0)."""
    for value in values:
        if value:
            page.keyboard.type(value)
        page.keyboard.press("Tab")


def _tab_mode(page) -> None:
    """These tests type a digit and then Tab, as on the form before issue 14:
    turn off "move to the next cell after a digit" (a per-browser setting)."""
    page.evaluate("localStorage.setItem('cle.visit.autoAdvance', 'off')")


def _activity(page) -> str:
    return page.locator("#score-panel [data-testid=activity]").inner_text()


def _region_level(page, kind: str, area: str) -> str:
    return page.locator(f"#score-panel .bodymap-{kind} .region[data-area={area}]").first.get_attribute(
        "data-level"
    )


def _baseline_visit(patient, day: dt.date) -> None:
    """A CLASI-A 10 baseline: nose/malar erythema 3 + scale 2, chest erythema 3 + scale 2."""
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    record_visit(patient, date=day, exam=parse_exam({"areas": {
        "nose_malar": {"erythema": 3, "scale": 2}, "chest": {"erythema": 3, "scale": 2}}}))


def test_clinician_creates_patient_starts_course_and_logs_a_visit_by_keyboard(
    sign_in, live_server, clinician_a
):
    from patients.models import Patient, Visit

    page = sign_in(clinician_a)
    _tab_mode(page)
    today = timezone.localdate()
    start = today - dt.timedelta(days=14)

    # Create a patient.
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Code").fill("SYN-B01")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Discoid LE").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/patients/*/")
    patient = Patient.objects.get(code="SYN-B01")

    # Start a course from the patient page (the form is open: no course yet).
    page.get_by_label("Start date").fill(start.isoformat())
    page.get_by_label("Dose (mg)").fill("5")
    page.get_by_role("button", name="Start course").click()
    page.wait_for_url(f"**/patients/{patient.pk}/")
    assert page.locator(".course").filter(has_text="ongoing").count() == 1
    assert "5 mg daily" in page.locator(".course").inner_text()

    _baseline_visit(patient, start)  # CLASI-A 10 on the start day

    # Log a visit with the keyboard alone.
    page.get_by_role("link", name="Log a visit").click()
    page.wait_for_selector(FIRST_CELL)
    assert page.evaluate("document.activeElement.id") == "id_clasi-scalp-erythema"
    # The blank form announces no score and no response until something is typed.
    assert page.locator("#score-panel [data-testid=awaiting]").is_visible()
    assert page.locator("#score-panel [data-testid=change]").count() == 0

    page.keyboard.type("2")  # scalp erythema 2
    # The server-scored panel and the body map change before anything is saved.
    expect(page.locator("#score-panel [data-testid=activity]")).to_have_text("2")
    assert _region_level(page, "activity", "scalp") != "0"
    assert _region_level(page, "activity", "nose_malar") == "0"
    assert page.evaluate("document.activeElement.id") == "id_clasi-scalp-erythema"  # focus stayed

    page.keyboard.press("Tab")
    # scalp: scale 1, dyspigmentation 1 (scarring is N/A: Tab skips it);
    # ears left blank; nose/malar: erythema 3, scale 2, dyspigmentation 1, scarring 1.
    _type_cells(page, ["1", "1", "", "", "", "", "3", "2", "1"])
    page.keyboard.type("1")
    # By hand: activity = 2 + 1 + 3 + 2 = 8; damage = 1 + 1 + 1 = 3.
    expect(page.locator("#score-panel [data-testid=activity]")).to_have_text("8")
    # Activity reaches 8 before the last two damage cells are scored: wait for their swap too.
    expect(page.locator("#score-panel [data-testid=damage]")).to_have_text("3")
    assert page.locator("#score-panel [data-testid=damage]").inner_text() == "3"
    assert page.locator("#score-panel [data-testid=severity]").inner_text() == "Mild"
    assert _region_level(page, "activity", "nose_malar") == "4"  # 5 of 5 points
    assert page.evaluate("document.activeElement.id") == "id_clasi-nose_malar-scarring"
    # Nothing typed was overwritten by the swaps.
    typed = {cell: page.input_value(f"#id_clasi-{cell}") for cell in (
        "scalp-erythema", "scalp-scale", "scalp-dyspigmentation", "nose_malar-erythema",
        "nose_malar-scale", "nose_malar-dyspigmentation", "nose_malar-scarring")}
    assert typed == {"scalp-erythema": "2", "scalp-scale": "1", "scalp-dyspigmentation": "1",
                     "nose_malar-erythema": "3", "nose_malar-scale": "2",
                     "nose_malar-dyspigmentation": "1", "nose_malar-scarring": "1"}
    # Change from the course's baseline (10 -> 8): -2 points, -20 %, which is the MCID.
    change = page.locator("#score-panel [data-testid=change]").inner_text()
    assert page.locator("#score-panel [data-testid=change-points]").inner_text() == "−2 points (−20%)"
    assert "MCID met" in change and "CLASI-50 not met" in change

    # The damage view of the body map (CSS switch, no request).
    assert page.locator("#score-panel .bodymap-damage").is_hidden()
    page.get_by_role("radio", name="Damage").check()
    assert page.locator("#score-panel .bodymap-damage").is_visible()
    assert _region_level(page, "damage", "nose_malar") != "0"

    page.locator("#id_clasi-nose_malar-scarring").focus()
    page.keyboard.press("Control+Enter")  # save from the keyboard (plain Enter in a cell does not)
    page.wait_for_url("**/patients/visits/*/")
    assert Visit.objects.filter(patient=patient).count() == 2
    assert page.locator("[data-testid=activity]").inner_text() == "8"
    assert page.locator(".bodymap-activity .region[data-area=nose_malar]").first.get_attribute("data-level") == "4"

    page.get_by_role("link", name="Back to patient").click()
    row = page.locator("#visits-table tbody tr").filter(has_text=today.isoformat())
    assert row.locator("[data-testid=visit-activity]").inner_text() == "8"
    assert row.locator("[data-testid=visit-damage]").inner_text() == "3"


def test_a_tampered_impossible_value_is_refused_next_to_its_cell_and_nothing_is_saved(
    sign_in, live_server, clinician_a, patient_a
):
    from patients.models import LabResult, Visit

    page = sign_in(clinician_a)
    page.goto(f"{live_server.url}/patients/{patient_a.pk}/visits/new/")
    page.wait_for_selector(FIRST_CELL)
    # Get past the one-digit limit and the pattern the way a tamperer would,
    # and post a value for the cell the instrument does not score.
    page.evaluate("""() => {
        const cell = document.querySelector('#id_clasi-scalp-erythema');
        cell.removeAttribute('maxlength'); cell.removeAttribute('pattern'); cell.value = '7';
        const extra = document.createElement('input');
        extra.type = 'hidden'; extra.name = 'clasi-scalp-scarring'; extra.value = '1';
        document.querySelector('#visit-form').appendChild(extra);
    }""")
    page.fill("#id_lab-c3-value", "0.8")  # a valid lab in the same submission
    page.get_by_role("button", name="Save visit").click()

    error = page.locator("td:has(#id_clasi-scalp-erythema) .cell-error")
    assert error.inner_text() == "7 is not one of 0, 1, 2, 3."
    assert page.locator("#id_clasi-scalp-erythema").get_attribute("aria-invalid") == "true"
    assert page.input_value("#id_clasi-scalp-erythema") == "7"  # kept for correction
    assert "Not scored on the scalp" in page.locator("tr[data-area=scalp] td.na").inner_text()
    assert "Nothing was saved" in page.locator("[role=alert]").first.inner_text()
    assert Visit.objects.count() == 0 and LabResult.objects.count() == 0


def test_viewer_sees_the_pages_without_write_controls(sign_in, live_server, viewer_a, patient_a, course_a):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    visit = record_visit(patient_a, date=dt.date(2025, 1, 6),
                         exam=parse_exam({"areas": {"ears": {"erythema": 2}}}))
    page = sign_in(viewer_a)
    page.goto(f"{live_server.url}/patients/")
    assert page.get_by_role("link", name="New patient").count() == 0
    page.get_by_role("link", name="SYN-001").click()
    page.wait_for_url(f"**/patients/{patient_a.pk}/")
    assert page.locator("#visits-table").inner_text().count("2025-01-06") == 1
    for name in ("Log a visit", "Edit patient", "Correct", "Delete…"):
        assert page.get_by_role("link", name=name).count() == 0, name
    assert page.get_by_text("Start a lenalidomide course").count() == 0
    assert page.get_by_text("Change the dose").count() == 0
    # The only POST form on the page is signing out.
    assert page.locator("form[method=post]").count() == 1

    page.locator("#visits-table").get_by_role("link", name="2025-01-06").click()
    page.wait_for_url(f"**/patients/visits/{visit.pk}/")
    assert page.locator("[data-testid=activity]").inner_text() == "2"
    assert page.get_by_role("link", name="Edit visit").count() == 0
    assert page.locator("form[method=post]").count() == 1
    response = page.goto(f"{live_server.url}/patients/{patient_a.pk}/visits/new/")
    assert response.status == 403


@pytest.mark.parametrize("width,height,name", [(1440, 900, "desktop"), (1024, 768, "tablet"),
                                               (390, 844, "phone")])
def test_visit_form_fits_without_horizontal_scrolling(
    sign_in, live_server, clinician_a, patient_a, course_a, width, height, name
):
    """Every grid column and the score panel fit a 1024x768 tablet and a
    390x844 phone.  With CLE_SCREENSHOTS_DIR set, the screenshots the README
    shows are written (visit form, saved visit, patient page at each size)."""
    _baseline_visit(patient_a, course_a.start)
    page = sign_in(clinician_a)
    _tab_mode(page)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/patients/{patient_a.pk}/visits/new/")
    page.wait_for_selector(FIRST_CELL)
    page.fill("#id_date", (course_a.start + dt.timedelta(days=28)).isoformat())
    page.locator(FIRST_CELL).focus()
    # Activity by hand: scalp 2 + 1, ears 1, nose/malar 2 + 1, rest of face 1 + 1 = 9.
    _type_cells(page, ["2", "1", "1", "1", "", "", "", "2", "1", "1", "1", "1", "1"])
    expect(page.locator("#score-panel [data-testid=activity]")).to_have_text("9")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"horizontal scrolling at {width}x{height}: {widths}"
    for selector in ("#id_clasi-feet-scarring", "#score-panel .totals"):
        page.locator(selector).scroll_into_view_if_needed()
        box = page.locator(selector).bounding_box()
        assert box["x"] + box["width"] <= width, selector

    out = os.environ.get("CLE_SCREENSHOTS_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        page.locator(FIRST_CELL).scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=f"{out}/visit-form-{name}.png", full_page=name == "phone")
        page.get_by_role("button", name="Save visit").click()
        page.wait_for_url("**/patients/visits/*/")
        page.screenshot(path=f"{out}/visit-detail-{name}.png", full_page=True)
        from patients.services import add_dose_step

        add_dose_step(course_a, date=course_a.start + dt.timedelta(days=28), mg=Decimal("10"))
        page.goto(f"{live_server.url}/patients/{patient_a.pk}/")
        page.wait_for_selector(".chart .main-svg")
        page.screenshot(path=f"{out}/patient-page-{name}.png", full_page=True)
