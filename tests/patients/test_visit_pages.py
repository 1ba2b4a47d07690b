"""The visit form, visit pages, courses from the patient page and the patient
list, through Django's test client (the no-JavaScript path)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from patients.models import AdverseEvent, Course, DoseStep, LabResult, Visit
from clinical.instruments.clasi import CLASI


def _visit_post(**cells) -> dict:
    data = {"date": "2025-02-03"}
    data.update({f"clasi-{k}": v for k, v in cells.items()})
    return data


# -- the grid --------------------------------------------------------------


@pytest.mark.django_db
def test_grid_is_generated_from_the_instrument_with_the_na_cell_and_labels(client_a, patient_a):
    html = client_a.get(reverse("patients:visit_create", args=[patient_a.pk])).content.decode()
    names = re.findall(r'name="(clasi-[^"]+)"', html)
    area_cells = [n for n in names if n.count("-") == 2 and "skip" not in n]
    assert len(area_cells) == 13 * 4 - 1
    assert "clasi-scalp-scarring" not in names  # N/A: no input at all
    assert {f"clasi-{i.key}" for i in CLASI.exam_items} <= set(names)
    assert "clasi-dyspigmentation_lasts_12_months" in names
    # Rows in form order.
    rows = re.findall(r'<tr data-area="([a-z_]+)"', html)
    assert rows == [a.key for a in CLASI.areas]
    # Every visible input and select has a label naming it.
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
    assert len(ids) > 60
    for element_id in ids:
        assert f'for="{element_id}"' in html or re.search(
            rf'<label[^>]*>\s*<input[^>]*id="{re.escape(element_id)}"', html), element_id
    # Value labels are on hand: the tooltip of a cell names each value.
    assert "3 dark red / violaceous / crusted or haemorrhagic" in html


@pytest.mark.django_db
def test_saving_a_visit_stores_exam_labs_and_events_in_one_go(client_a, patient_a, clinician_a):
    data = _visit_post(**{"nose_malar-erythema": "3", "nose_malar-scale": "2",
                          "ears-dyspigmentation": "1", "nonscarring_alopecia": "2",
                          "scalp_scarring": "3", "dyspigmentation_lasts_12_months": "on"})
    data.update({"clinician": str(clinician_a.pk), "lab-c3-value": "0.65", "lab-c3-unit": "g/L",
                 "lab-pregnancy-result": "negative", "ae-0-term": "Insomnia", "ae-0-grade": "1",
                 "note": "synthetic"})
    response = client_a.post(reverse("patients:visit_create", args=[patient_a.pk]), data)
    assert response.status_code == 302
    visit = Visit.objects.get(patient=patient_a)
    # By hand: activity 3 + 2 + 2 = 7; damage dyspigmentation 1 x 2 + scalp scarring 3 = 5.
    assert (visit.assessment.activity, visit.assessment.damage) == (7, 5)
    assert visit.clinician == clinician_a and visit.note == "synthetic"
    labs = {lab.test: lab for lab in visit.labs.all()}
    assert labs["c3"].value == Decimal("0.65") and labs["pregnancy"].result == "negative"
    assert list(visit.adverse_events.values_list("term", "grade")) == [("Insomnia", 1)]
    assert response["Location"] == reverse("patients:visit", args=[visit.pk])
    page = client_a.get(response["Location"]).content.decode()
    assert 'data-testid="activity">7<' in page and 'data-testid="damage">5<' in page


@pytest.mark.django_db
@pytest.mark.parametrize("field,value,message", [
    ("scalp-erythema", "7", "7 is not one of 0, 1, 2, 3."),
    ("chest-scale", "3", "3 is not one of 0, 1, 2."),
    ("scalp_scarring", "2", "2 is not one of 0, 3, 4, 5, 6."),
    ("ears-erythema", "x", "Enter one of 0, 1, 2, 3, not “x”."),
    ("scalp-scarring", "1", "Not scored on the scalp"),
])
def test_a_bad_cell_gets_its_message_beside_it_and_nothing_is_saved(
    client_a, patient_a, field, value, message
):
    data = _visit_post(**{field: value, "nose_malar-erythema": "2"})
    data.update({"lab-c3-value": "0.8", "ae-0-term": "Rash acneiform", "ae-0-grade": "2"})
    response = client_a.post(reverse("patients:visit_create", args=[patient_a.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'id="id_clasi-{re.escape(field)}_error"[^>]*>([^<]+)<', html)
    assert error and error.group(1).startswith(message)
    assert "Nothing was saved" in html
    assert 'value="2"' in html  # what was typed elsewhere is kept
    assert (Visit.objects.count(), LabResult.objects.count(), AdverseEvent.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_service_errors_land_on_their_field(client_a, patient_a):
    url = reverse("patients:visit_create", args=[patient_a.pk])
    assert client_a.post(url, _visit_post()).status_code == 302
    again = client_a.post(url, _visit_post(**{"ears-erythema": "1"}))
    assert again.status_code == 400
    assert "already has a visit on 2025-02-03" in again.content.decode()
    future = client_a.post(url, {"date": (dt.date.today() + dt.timedelta(days=3)).isoformat()})
    assert "The visit date " in future.content.decode()
    assert " is in the future (today is " in future.content.decode()
    half_event = client_a.post(url, {"date": "2025-03-01", "ae-0-term": "Nausea"})
    assert "Give the CTCAE grade (1-5)." in half_event.content.decode()
    assert Visit.objects.count() == 1


@pytest.mark.django_db
def test_skipping_the_clasi_saves_a_visit_without_assessment(client_a, patient_a):
    from scoring.models import Assessment

    response = client_a.post(reverse("patients:visit_create", args=[patient_a.pk]),
                             {"date": "2025-02-03", "clasi-skip": "on", "lab-anc-value": "1.2",
                              "lab-anc-unit": "10^9/L"})
    assert response.status_code == 302
    assert Visit.objects.count() == 1 and Assessment.objects.count() == 0
    assert LabResult.objects.get().test == "anc"


# -- the live panel ------------------------------------------------------------


@pytest.mark.django_db
def test_preview_returns_only_the_panel_scored_against_the_course_baseline(client_a, patient_a, course_a):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    # Baseline on the start day: CLASI-A 12 (chest 3 + 2, arms 3 + 2, nose 2).
    record_visit(patient_a, date=course_a.start, exam=parse_exam({"areas": {
        "chest": {"erythema": 3, "scale": 2}, "arms": {"erythema": 3, "scale": 2},
        "nose_malar": {"erythema": 2}}}))
    day = course_a.start + dt.timedelta(days=28)
    response = client_a.post(
        reverse("patients:visit_preview", args=[patient_a.pk]),
        {"date": day.isoformat(), "clasi-chest-erythema": "3", "clasi-chest-scale": "2"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="score-panel"')
    assert "<input" not in html  # never the inputs: nothing typed is overwritten
    assert 'data-testid="activity">5<' in html
    # 12 -> 5: -7 points, -58 % (7/12 = 58.3 %), MCID and CLASI-50 met, not CLASI-70.
    assert "−7 points (−58%)" in html
    assert "MCID met" in html and "CLASI-50 met" in html and "CLASI-70 not met" in html
    assert Visit.objects.count() == 1  # a preview saves nothing
    region = re.search(r'class="region lvl-(\d)" data-area="chest"', html)
    assert region and region.group(1) == "4"  # 5 of 5 points


@pytest.mark.django_db
def test_preview_on_the_start_day_calls_the_visit_the_baseline(client_a, patient_a, course_a):
    response = client_a.post(reverse("patients:visit_preview", args=[patient_a.pk]),
                             {"date": course_a.start.isoformat(), "clasi-ears-erythema": "2"})
    assert "This visit is the baseline of the course started 2025-01-06." in response.content.decode()


@pytest.mark.django_db
def test_preview_lists_bad_cells_instead_of_scores(client_a, patient_a):
    response = client_a.post(reverse("patients:visit_preview", args=[patient_a.pk]),
                             {"date": "2025-02-03", "clasi-ears-erythema": "9"})
    html = response.content.decode()
    assert "Scores appear when every cell is valid" in html and "9 is not one of 0, 1, 2, 3" in html
    assert 'data-testid="activity"' not in html


# -- edit and delete --------------------------------------------------------------


@pytest.mark.django_db
def test_edit_shows_the_stored_values_and_rescores(client_a, patient_a):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    visit = record_visit(patient_a, date=dt.date(2025, 2, 3),
                         exam=parse_exam({"areas": {"legs": {"erythema": 2}}}))
    url = reverse("patients:visit_edit", args=[visit.pk])
    assert 'name="clasi-legs-erythema" id="id_clasi-legs-erythema" value="2"' in client_a.get(url).content.decode()
    response = client_a.post(url, _visit_post(**{"legs-erythema": "3", "legs-scale": "1"}) | {"version": "1"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.assessment.activity == 4


@pytest.mark.django_db
def test_delete_asks_first_then_deletes_on_post(client_a, patient_a):
    from patients.services import record_visit

    visit = record_visit(patient_a, date=dt.date(2025, 2, 3))
    url = reverse("patients:visit_delete", args=[visit.pk])
    assert b"Delete the visit of 2025-02-03?" in client_a.get(url).content
    assert Visit.objects.count() == 1
    assert client_a.post(url).status_code == 302
    assert Visit.objects.count() == 0


@pytest.mark.django_db
def test_viewer_gets_403_on_every_visit_and_course_write(viewer_client, patient_a, course_a):
    from patients.services import record_visit

    visit = record_visit(patient_a, date=dt.date(2025, 2, 3))
    step = DoseStep.objects.get(course=course_a)
    for url in (
        reverse("patients:visit_create", args=[patient_a.pk]),
        reverse("patients:visit_preview", args=[patient_a.pk]),
        reverse("patients:visit_edit", args=[visit.pk]),
        reverse("patients:visit_delete", args=[visit.pk]),
        reverse("patients:course_start", args=[patient_a.pk]),
        reverse("patients:dose_step_add", args=[course_a.pk]),
        reverse("patients:course_withdraw", args=[course_a.pk]),
        reverse("patients:course_edit", args=[course_a.pk]),
        reverse("patients:course_delete", args=[course_a.pk]),
        reverse("patients:dose_step_delete", args=[step.pk]),
    ):
        assert viewer_client.post(url, {"date": "2025-02-04", "start": "2025-03-01", "mg": "5",
                                         "every_days": "1"}).status_code == 403, url
    assert viewer_client.get(reverse("patients:visit", args=[visit.pk])).status_code == 200
    assert Visit.objects.count() == 1 and Course.objects.count() == 1


# -- courses ---------------------------------------------------------------------


@pytest.mark.django_db
def test_course_rules_come_back_as_field_errors(client_a, patient_a, course_a):
    start_url = reverse("patients:course_start", args=[patient_a.pk])
    overlap = client_a.post(start_url, {"drug": "lenalidomide", "start": "2025-02-01", "mg": "5",
                                       "every_days": "1"})
    assert overlap.status_code == 400
    assert re.search(r'id="id_start_error">This overlaps the lenalidomide course from 2025-01-06', overlap.content.decode())

    def version() -> str:  # every course form carries the version of the course it shows
        course_a.refresh_from_db()
        return str(course_a.version)

    dose_url = reverse("patients:dose_step_add", args=[course_a.pk])
    early = client_a.post(dose_url, {"date": "2024-12-01", "mg": "10", "every_days": "1", "version": version()})
    assert 'id="id_date_error">The dose step 2024-12-01 is before the course start' in early.content.decode()
    assert client_a.post(dose_url, {"date": "2025-02-03", "mg": "10", "every_days": "1", "version": version()}).status_code == 302
    assert client_a.post(dose_url, {"date": "2025-03-03", "mg": "10", "every_days": "2", "version": version()}).status_code == 302

    withdraw_url = reverse("patients:course_withdraw", args=[course_a.pk])
    no_reason = client_a.post(withdraw_url, {"end": "2025-04-01", "version": version()})
    assert no_reason.status_code == 400 and 'id="id_stop_reason_error"' in no_reason.content.decode()
    before_step = client_a.post(withdraw_url, {"end": "2025-03-01", "stop_reason": "remission", "version": version()})
    assert "comes after this withdrawal date" in before_step.content.decode()
    assert client_a.post(withdraw_url, {"end": "2025-04-01", "stop_reason": "remission", "version": version()}).status_code == 302
    course_a.refresh_from_db()
    assert (course_a.end, course_a.stop_reason) == (dt.date(2025, 4, 1), "remission")
    steps = list(course_a.dose_steps.order_by("date").values_list("mg", "every_days"))
    assert steps == [(Decimal("5"), 1), (Decimal("10"), 1), (Decimal("10"), 2)]

    page = client_a.get(reverse("patients:detail", args=[patient_a.pk])).content.decode()
    assert "10 mg alternate days" in page and "Remission" in page


@pytest.mark.django_db
def test_first_dose_step_cannot_be_removed_later_ones_can(client_a, patient_a, course_a):
    from patients.services import add_dose_step

    first = DoseStep.objects.get(course=course_a)
    later = add_dose_step(course_a, date=dt.date(2025, 2, 3), mg=Decimal("10"))
    response = client_a.post(reverse("patients:dose_step_delete", args=[first.pk]), follow=True)
    assert "The starting dose cannot be removed" in response.content.decode()
    client_a.post(reverse("patients:dose_step_delete", args=[later.pk]))
    assert list(DoseStep.objects.values_list("pk", flat=True)) == [first.pk]


# -- the patient list --------------------------------------------------------------


@pytest.fixture
def three_patients(clinic_a, patient_a, course_a):
    from patients.services import create_patient, start_course, withdraw

    create_patient(clinic_a, code="SYN-002", name="Berta Example", sex="F", cle_subtypes=["SCLE"])
    stopped = create_patient(clinic_a, code="SYN-003", name="Carla Other", sex="F",
                             cle_subtypes=["DLE", "SCLE"])
    course = start_course(stopped, start=dt.date(2024, 1, 1), mg=Decimal("5"))
    withdraw(course, end=dt.date(2024, 6, 1), stop_reason="remission")


def _codes(response) -> list[str]:
    return re.findall(r">(SYN-\d+)</a>", response.content.decode())


@pytest.mark.django_db
def test_patient_list_finds_by_code_or_name_and_filters(client_a, three_patients):
    url = reverse("patients:list")
    assert _codes(client_a.get(url)) == ["SYN-001", "SYN-002", "SYN-003"]
    assert _codes(client_a.get(url, {"q": "berta"})) == ["SYN-002"]
    assert _codes(client_a.get(url, {"q": "003"})) == ["SYN-003"]
    assert _codes(client_a.get(url, {"on_lenalidomide": "on"})) == ["SYN-001"]
    assert _codes(client_a.get(url, {"subtype": "SCLE"})) == ["SYN-002", "SYN-003"]
    assert _codes(client_a.get(url, {"subtype": "DLE", "q": "syn"})) == ["SYN-001", "SYN-003"]
    assert _codes(client_a.get(url, {"subtype": "nonsense"})) == ["SYN-001", "SYN-002", "SYN-003"]


@pytest.mark.django_db
def test_patient_list_answers_htmx_with_the_results_partial_only(client_a, three_patients):
    response = client_a.get(reverse("patients:list"), {"q": "carla"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="patient-results">') and "<html" not in html
    assert _codes(response) == ["SYN-003"]
    assert "HX-Request" in response["Vary"]
    full = client_a.get(reverse("patients:list"), {"q": "carla"})
    assert "<html" in full.content.decode() and 'value="carla"' in full.content.decode()


@pytest.mark.django_db
def test_patient_list_paginates_and_keeps_the_filters(client_a, clinic_a):
    from patients.models import Patient

    Patient.objects.bulk_create(Patient(clinic=clinic_a, code=f"P{i:03d}", sex="F") for i in range(120))
    html = client_a.get(reverse("patients:list"), {"q": "P"}).content.decode()
    assert "Page 1 of 3" in html and "?q=P&amp;page=2" in html
    second = client_a.get(reverse("patients:list"), {"q": "P", "page": "2"})
    assert _codes(second) == [] and "P050" in second.content.decode()


@pytest.mark.django_db
def test_patient_list_filters_on_an_open_flag(client_a, three_patients, patient_a, course_a):
    from patients.services import record_visit, withdraw
    from clinical.instruments.exam import parse_exam

    # Complete response at withdrawal, then CLASI-A 2 three weeks later: a
    # relapse-after-complete-response flag (clasi.md 3, rule 1) for SYN-001 only.
    record_visit(patient_a, date=course_a.start, exam=parse_exam({"areas": {"ears": {"erythema": 3}}}))
    record_visit(patient_a, date=dt.date(2025, 2, 3), exam=parse_exam({}))
    withdraw(course_a, end=dt.date(2025, 3, 3), stop_reason="remission")
    record_visit(patient_a, date=dt.date(2025, 3, 24), exam=parse_exam({"areas": {"ears": {"erythema": 2}}}))
    assert _codes(client_a.get(reverse("patients:list"), {"open_flag": "on"})) == ["SYN-001"]


def test_the_inline_course_forms_default_their_dates_to_today(client_a, patient_a, course_a):
    from django.utils import timezone

    html = client_a.get(reverse("patients:detail", args=[patient_a.pk])).content.decode()
    today = timezone.localdate().isoformat()
    # The page renders no course form; each <details> fetches its own when opened (htmx),
    # and links to the form's own page for a browser without JavaScript.
    assert "<form" not in html.split('id="courses-h"', 1)[1].split("</section>", 1)[0]
    for name, field in (("dose_step_add", f"id_dose_{course_a.pk}_date"),
                        ("course_withdraw", f"id_withdraw_{course_a.pk}_end"),
                        ("interruption_add", f"id_hold_{course_a.pk}_start")):
        url = reverse(f"patients:{name}", args=[course_a.pk])
        assert f'href="{url}"' in html, name
        opened = re.search(rf'hx-get="({re.escape(url)}\?inline=1&amp;version=\d+)"', html).group(1)
        form = client_a.get(opened.replace("&amp;", "&"), headers={"HX-Request": "true"}).content.decode()
        assert "<html" not in form and f'action="{url}"' in form
        tag = re.search(rf'<input[^>]*id="{field}"[^>]*>', form).group(0)
        assert f'value="{today}"' in tag, field
