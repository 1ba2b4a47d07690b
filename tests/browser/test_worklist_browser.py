"""The one worklist in a real browser (issues 11 and 13): an ANC of 800 cells/uL
logged at a visit is flagged on the visit page, puts the patient first on the
needs-attention page, and leaves it once a clinician acknowledges it with a note."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_low_count_reaches_the_worklist_and_leaves_it_when_acknowledged(
    sign_in, live_server, clinic_a, clinician_a, tmp_path
):
    from patients import services
    from patients.models import Patient
    from scoring.models import FlagAcknowledgement

    today = timezone.localdate()
    patient = services.create_patient(clinic_a, code="SYN-WL1", sex="F")
    services.start_course(patient, start=today - dt.timedelta(days=40), mg=Decimal("10"))
    # Another patient already on the list, with an older grade 4 platelet count: the same
    # urgency (a cytopenia), so the newer count comes first.
    other = services.create_patient(clinic_a, code="SYN-WL0", sex="F")
    # On lenalidomide too: a grade 3-4 count is urgent during a course (clasi.md 5.2).
    services.start_course(other, start=today - dt.timedelta(days=60), mg=Decimal("10"))
    services.record_visit(other, date=today - dt.timedelta(days=20),
                          labs=[services.LabInput(test="platelets", value=Decimal("30"), unit="x10^9/L")])

    page = sign_in(clinician_a)
    page.goto(f"{live_server.url}/patients/{patient.pk}/visits/new/")
    page.fill("#id_lab-anc-value", "800")
    page.select_option("#id_lab-anc-unit", "cells/uL")
    page.click("#save-visit")
    page.wait_for_url("**/visits/*/")
    # The visit page marks the value as low.
    row = page.locator("tr[data-test=anc]")
    expect(row).to_have_class("out-of-range")
    expect(row.get_by_test_id("out-of-range")).to_contain_text("low")
    page.screenshot(path=str(tmp_path / "visit.png"), full_page=True)

    page.get_by_role("link", name="Needs attention").first.click()
    page.wait_for_url("**/attention/")
    first = page.locator("tr.work-item").first
    expect(first).to_have_attribute("data-patient", "SYN-WL1")
    expect(first).to_contain_text("Grade 3 neutropenia")
    expect(first).to_contain_text("Interrupt or reduce lenalidomide")
    page.screenshot(path=str(tmp_path / "attention.png"), full_page=True)

    first.get_by_role("link", name="Acknowledge").click()
    page.get_by_label("Acknowledgement note").fill("Count repeated tomorrow; dose held.")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/attention/")
    expect(page.locator("tr.work-item[data-patient=SYN-WL1]")).to_have_count(0)
    expect(page.locator("tr.work-item[data-patient=SYN-WL0]")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "after.png"), full_page=True)

    ack = FlagAcknowledgement.objects.get(patient=Patient.objects.get(code="SYN-WL1"))
    assert (ack.kind, ack.note, ack.acknowledged_by) == ("cytopenia", "Count repeated tomorrow; dose held.", clinician_a)
