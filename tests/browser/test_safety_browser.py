"""Issue 11 in a real browser: a clinician logs ANC in cells/uL by choosing the
unit from its list, sees the CTCAE grade on the visit page and the urgent item
on the patient page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_anc_in_cells_per_ul_is_graded_and_reaches_the_patient_page(sign_in, live_server, clinician_a, clinic_a):
    from patients.models import LabResult
    from patients.services import create_patient, record_visit, start_course

    today = timezone.localdate()
    patient = create_patient(clinic_a, code="SYN-SAFE", sex="F", birth_date=dt.date(1966, 1, 1),
                             reproductive_potential=False)
    start_course(patient, start=today - dt.timedelta(days=21), mg=Decimal("5"))
    record_visit(patient, date=today - dt.timedelta(days=14), weight_kg=Decimal(70))
    page = sign_in(clinician_a)
    page.goto(f"{live_server.url}/patients/{patient.pk}/visits/new/")
    page.wait_for_load_state("load")
    unit = page.locator("#id_lab-anc-unit")
    # The usual unit is preselected and out of the Tab order until changed.
    expect(unit).to_have_value("10^9/L")
    assert unit.get_attribute("tabindex") == "-1"
    page.locator("#id_clasi-skip").check()
    page.locator("#id_lab-anc-value").fill("800")
    unit.select_option("cells/uL")
    assert unit.get_attribute("tabindex") is None  # changed: back in the Tab order
    page.locator("#id_lab-creatinine-value").fill("1,6")  # a decimal comma
    page.locator("#id_lab-creatinine-unit").select_option("mg/dL")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".labs-fieldset").screenshot(path=str(SHOTS / "safety_visit_form_labs.png"))
    page.locator(".events-fieldset").screenshot(path=str(SHOTS / "safety_visit_form_events.png"))
    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url("**/patients/visits/*/")
    row = page.locator('#labs-table tr[data-test="anc"]')
    expect(row).to_contain_text("800")
    expect(row).to_contain_text("cells/uL")
    expect(row.get_by_test_id("ctcae-grade")).to_have_text("grade 3")
    lab = LabResult.objects.get(test="anc")
    assert (lab.value, lab.unit) == (Decimal(800), "cells/uL")

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    # Urgent: once, in its own box with the acknowledgement form (clasi.md 5.6).
    neutropenia = page.locator('.safety-item[data-item-kind="cytopenia"]')
    expect(neutropenia).to_have_count(1)
    expect(neutropenia).to_contain_text("Grade 3 neutropenia")
    expect(neutropenia.get_by_label("Acknowledgement note")).to_be_visible()
    expect(page.locator('li[data-kind="cytopenia"]')).to_have_count(0)
    # Born 1966-01-01, 70 kg, creatinine 1.6 mg/dL: (140-60)x70x0.85/(72x1.6) = 41.3 at 60;
    # the age is the patient's on the creatinine day, so compute it as the page does.
    age = today.year - 1966 - ((today.month, today.day) < (1, 1))
    expected = round((140 - age) * 70 * 0.85 / (72 * 1.6), 1)
    expect(page.get_by_test_id("creatinine-clearance")).to_contain_text(
        f"Creatinine clearance {expected} mL/min")
    expect(page.locator('.safety-item[data-item-kind="crcl_below_review"]')).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#patient-analysis").screenshot(path=str(SHOTS / "safety_patient_page.png"))
