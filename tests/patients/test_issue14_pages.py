"""Issue 14 on the server: nothing lost, honest display, every page finished.

Each test fails on the code before issue 14 (commit e807db3).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from patients import services
from patients.models import DoseStep, LabResult, Visit
from clinical.instruments.exam import parse_exam

pytestmark = pytest.mark.django_db


def _visit_post(day: dt.date, **extra) -> dict:
    return {"date": day.isoformat(), "clinician": "", "note": "", **extra}


def _record(patient, day, areas=None, **kw):
    exam = parse_exam({"areas": areas or {}})
    return services.record_visit(patient, date=day, exam=exam, **kw)


# -- nothing lost -----------------------------------------------------------------


def test_no_examination_ticked_over_typed_scores_is_refused_and_nothing_is_saved(client_a, patient_a):
    url = reverse("patients:visit_create", args=[patient_a.pk])
    response = client_a.post(url, _visit_post(dt.date(2025, 3, 3), **{
        "clasi-skip": "on", "clasi-scalp-erythema": "2", "clasi-chest-scale": "1"}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "“No CLASI examination” is ticked but 2 cells hold scores" in html
    assert 'href="#id_clasi-skip"' in html  # listed in the banner, linked to the box
    assert Visit.objects.count() == 0
    # Ticked with an empty grid, the visit saves without an examination.
    ok = client_a.post(url, _visit_post(dt.date(2025, 3, 3), **{"clasi-skip": "on"}))
    assert ok.status_code == 302 and not hasattr(Visit.objects.get(), "assessment")


def test_deleting_a_visit_says_what_goes_with_it(client_a, patient_a):
    from patients.services import AdverseEventInput, LabInput

    visit = _record(patient_a, dt.date(2025, 2, 1), {"ears": {"erythema": 2}},
                    labs=[LabInput(test="c3", value=Decimal("0.7"), unit="g/L")],
                    adverse_events=[AdverseEventInput(term="Pruritus", grade=1)])
    html = client_a.get(reverse("patients:visit_delete", args=[visit.pk])).content.decode()
    assert "CLASI examination (CLASI-A 2, CLASI-D 0)" in html
    assert "1 lab result: C3" in html and "1 adverse event: Pruritus (grade 1)" in html
    assert Visit.objects.count() == 1  # asking deleted nothing


def test_deleting_a_course_lists_its_dose_steps(client_a, course_a):
    services.add_dose_step(course_a, date=dt.date(2025, 2, 3), mg=Decimal("10"))
    html = client_a.get(reverse("patients:course_delete", args=[course_a.pk])).content.decode()
    assert "2 dose steps: 2025-01-06 5 mg daily; 2025-02-03 10 mg daily" in html


def test_removing_a_dose_step_asks_first_then_removes(client_a, course_a):
    step = services.add_dose_step(course_a, date=dt.date(2025, 2, 3), mg=Decimal("10"))
    url = reverse("patients:dose_step_delete", args=[step.pk])
    page = client_a.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Remove the dose step of 2025-02-03 (10 mg daily)?" in html
    assert "the dose is again 5 mg daily" in html
    assert DoseStep.objects.filter(pk=step.pk).exists()
    patient_page = client_a.get(reverse("patients:detail", args=[course_a.patient_id])).content.decode()
    assert f'href="{url}"' in patient_page  # "remove…" is a link to the question, not a POST button
    assert client_a.post(url).status_code == 302
    assert not DoseStep.objects.filter(pk=step.pk).exists()


def test_a_dose_step_can_be_corrected(client_a, course_a):
    step = services.add_dose_step(course_a, date=dt.date(2025, 2, 3), mg=Decimal("10"))
    url = reverse("patients:dose_step_edit", args=[step.pk])
    form = client_a.get(url)
    assert form.status_code == 200 and 'value="10"' in form.content.decode()  # not 1E+1
    course_a.refresh_from_db()
    response = client_a.post(
        url, {"date": "2025-02-04", "mg": "7,5", "every_days": "2", "version": course_a.version}
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.date, step.mg, step.every_days) == (dt.date(2025, 2, 4), Decimal("7.5"), 2)
    # Outside the course: refused next to the field, nothing changed.
    course_a.refresh_from_db()
    bad = client_a.post(
        url, {"date": "2024-12-01", "mg": "5", "every_days": "1", "version": course_a.version}
    )
    assert bad.status_code == 400
    step.refresh_from_db()
    assert step.date == dt.date(2025, 2, 4)


def test_a_viewer_cannot_correct_or_remove_a_dose_step(viewer_client, course_a):
    step = course_a.dose_steps.get()
    assert viewer_client.get(reverse("patients:dose_step_edit", args=[step.pk])).status_code == 403
    assert viewer_client.get(reverse("patients:dose_step_delete", args=[step.pk])).status_code == 403


# -- honest display -------------------------------------------------------------------


def test_clasi_a_zero_reads_clear_not_mild(client_a, patient_a):
    visit = _record(patient_a, dt.date(2025, 2, 1))  # a clear examination
    _record(patient_a, dt.date(2025, 3, 1), {"ears": {"erythema": 2}})
    detail = client_a.get(reverse("patients:detail", args=[patient_a.pk])).content.decode()
    assert '<span class="badge clear" data-testid="visit-reading">Clear</span>' in detail
    assert '<span class="badge mild" data-testid="visit-reading">Mild</span>' in detail
    page = client_a.get(reverse("patients:visit", args=[visit.pk])).content.decode()
    assert 'data-testid="severity">Clear</span>' in page and ">Mild<" not in page
    assert visit.assessment.severity == "mild"  # the scorer's band is unchanged


def test_the_blank_visit_form_announces_no_score_or_response(client_a, course_a):
    _record(course_a.patient, course_a.start, {"chest": {"erythema": 3, "scale": 2}, "ears": {"erythema": 3, "scale": 2}})
    html = client_a.get(reverse("patients:visit_create", args=[course_a.patient_id])).content.decode()
    assert 'data-testid="awaiting"' in html
    for word in ("Mild", "Complete response", "MCID"):
        assert word not in html.split('id="score-panel"')[1], word
    # Something typed: the panel scores it.
    preview = client_a.post(reverse("patients:visit_preview", args=[course_a.patient_id]),
                            _visit_post(dt.date(2025, 2, 3), **{"clasi-ears-erythema": "1"}))
    assert 'data-testid="activity">1<' in preview.content.decode()


def test_start_from_the_last_visit_copies_its_examination_marked(client_a, patient_a):
    _record(patient_a, dt.date(2025, 1, 6), {"scalp": {"erythema": 1}})
    _record(patient_a, dt.date(2025, 2, 3), {"ears": {"erythema": 2, "scale": 1}})
    url = reverse("patients:visit_create", args=[patient_a.pk])
    blank = client_a.get(url).content.decode()
    assert "Start from the last visit" in blank and "2025-02-03" in blank
    copied = client_a.get(url + "?from=last").content.decode()
    assert 'data-testid="copied-note"' in copied
    row = copied.split('data-area="ears"')[1].split("</tr>")[0]
    assert row.count('class=" copied"') == 2 and 'value="2"' in row and 'value="1"' in row
    assert 'value="1"' not in copied.split('data-area="scalp"')[1].split("</tr>")[0]


def test_visit_page_lists_labs_in_form_order_with_out_of_range_marked(client_a, patient_a):
    from patients.services import LabInput

    visit = _record(patient_a, dt.date(2025, 2, 1), labs=[
        LabInput(test="platelets", value=Decimal("40"), unit="×10⁹/L"),
        LabInput(test="anti_dsdna", value=Decimal("45"), unit="IU/mL"),
        LabInput(test="c3", value=Decimal("1.2"), unit="g/L"),
    ])
    html = client_a.get(reverse("patients:visit", args=[visit.pk])).content.decode()
    table = html.split('id="labs-table"')[1]
    assert table.index("Anti-dsDNA") < table.index("C3") < table.index("Platelets")
    rows = {t: table.split(f'data-test="{t}"')[1].split("</tr>")[0] for t in ("anti_dsdna", "c3", "platelets")}
    assert "▲ high" in rows["anti_dsdna"] and "▼ low" in rows["platelets"]
    assert "out-of-range" not in rows["c3"]
    assert ">40 <" in rows["platelets"] and "E+" not in table  # 40, never Decimal's 4E+1


def test_the_visit_that_raised_a_flag_says_so_with_a_link(client_a, clinic_a, clinician_a):
    from clinic.models import Membership
    from scoring.selectors import current_flags, timeline_for
    from tests.scoring.trend_factories import build_history

    patient = build_history(clinic_a, "SYN-FLG", n_visits=5)
    (flag,) = current_flags(timeline_for(patient))
    html = client_a.get(reverse("patients:visit", args=[flag.visit_id])).content.decode()
    assert "This visit raised a flag: Relapse after complete response" in html
    assert f'{reverse("patients:detail", args=[patient.pk])}#flags' in html
    other = Visit.objects.filter(patient=patient, date__lt=flag.date, date__gt=flag.event_date).first()
    if other is not None:
        assert "watch window" in client_a.get(reverse("patients:visit", args=[other.pk])).content.decode()
    quiet = Visit.objects.filter(patient=patient, date__lt=flag.event_date).first()
    assert "raised a flag" not in client_a.get(reverse("patients:visit", args=[quiet.pk])).content.decode()


# -- every page finished ------------------------------------------------------------------


def test_decimal_commas_are_accepted_on_lab_values(client_a, patient_a):
    response = client_a.post(reverse("patients:visit_create", args=[patient_a.pk]), _visit_post(
        dt.date(2025, 3, 3), **{"lab-c3-value": "0,8", "lab-c3-unit": "g/L"}))
    assert response.status_code == 302
    assert LabResult.objects.get().value == Decimal("0.8")


def test_every_error_is_listed_in_the_banner_with_a_link(client_a, patient_a):
    response = client_a.post(reverse("patients:visit_create", args=[patient_a.pk]), _visit_post(
        dt.date(2025, 3, 3), **{"clasi-scalp-erythema": "7", "lab-c3-value": "abc",
                                "ae-0-term": "Pruritus"}))
    assert response.status_code == 400
    banner = response.content.decode().split('id="form-errors"')[1].split("</div>")[0]
    for field in ("id_clasi-scalp-erythema", "id_lab-c3-value", "id_ae-0-grade"):
        assert f'href="#{field}"' in banner, field


def test_no_database_constraint_name_reaches_the_patient_form(client_a, clinic_a):
    response = client_a.post(reverse("patients:create"), {
        "clinic": clinic_a.pk, "code": "SYN-C1", "sex": "F", "sle_diagnosed": "2020-01-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "patient_sle_date_needs_sle" not in html
    assert "A diagnosis date needs SLE to be ticked." in html.split('name="sle_diagnosed"')[1][:400]


def test_the_adverse_event_term_offers_the_ctcae_list(client_a, patient_a):
    from clinical.ctcae import TERMS

    html = client_a.get(reverse("patients:visit_create", args=[patient_a.pk])).content.decode()
    assert 'list="ctcae-terms"' in html and '<datalist id="ctcae-terms">' in html
    assert all(f'<option value="{t}">' in html for t in TERMS[:5])


def test_patient_and_course_forms_list_their_errors_with_links(client_a, clinic_a, course_a):
    page = client_a.post(reverse("patients:create"), {"clinic": clinic_a.pk, "code": "", "sex": "F"})
    summary = page.content.decode().split('data-testid="error-summary"')[1].split("</div>")[0]
    assert 'href="#id_code"' in summary
    page = client_a.post(reverse("patients:dose_step_add", args=[course_a.pk]),
                         {"date": "2025-02-03", "mg": "abc", "every_days": "1"})
    summary = page.content.decode().split('data-testid="error-summary"')[1].split("</div>")[0]
    assert 'href="#id_mg"' in summary
