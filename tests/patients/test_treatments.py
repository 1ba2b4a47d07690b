"""Every treatment on the record (issue 9) and plausibility at entry (issue 14).

Each rule is refused by the service with a message naming the field, by the
page beside that field (400, nothing written) and by the import with the
path; the importer calls the same rule functions as the services.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patients import services
from patients.models import Course, DoseStep, Interruption, LabResult, Patient, Visit

D = dt.date
mg = Decimal


def field_error(exc: pytest.ExceptionInfo, field: str) -> str:
    return " ".join(exc.value.message_dict[field])


def _counts() -> tuple[int, int, int, int]:
    return (Course.objects.count(), DoseStep.objects.count(), Interruption.objects.count(),
            Visit.objects.count())


# -- the rule functions, on plain values ------------------------------------------


def test_drug_rule_knows_the_registry_and_other_needs_a_name():
    assert services.drug_problems("hydroxychloroquine", "") == []
    assert services.drug_problems("other", "Clofazimine") == []
    [unknown] = services.drug_problems("aspirine", "")
    assert unknown.field == "drug" and "'aspirine' is not a drug of the record" in unknown.message
    [nameless] = services.drug_problems("other", "  ")
    assert nameless.field == "drug_name"
    [named] = services.drug_problems("aspirin", "ASA")
    assert named.field == "drug_name"


@pytest.mark.parametrize(
    ("drug", "dose", "every_days", "field", "words"),
    [
        ("lenalidomide", "1000", 1, "mg", "1000 mg is outside the plausible range for Lenalidomide (2.5-25 mg)"),
        ("lenalidomide", "2", 1, "mg", "(2.5-25 mg)"),
        ("thalidomide", "800", 1, "mg", "(25-400 mg)"),
        ("aspirin", "5000", 1, "mg", "(50-325 mg)"),
        ("lenalidomide", "5", 3, "every_days", "every 3 days is not a frequency of the record"),
    ],
)
def test_dose_rule_names_the_field_and_the_range(drug, dose, every_days, field, words):
    problems = services.dose_problems(drug, mg(dose), every_days)
    assert [p.field for p in problems] == [field]
    assert words in problems[0].message


def test_dose_rule_accepts_the_edges_and_any_dose_of_other():
    assert services.dose_problems("lenalidomide", mg("2.5"), 1) == []
    assert services.dose_problems("lenalidomide", mg("25"), 2) == []
    assert services.dose_problems("methotrexate", mg("15"), 7) == []
    assert services.dose_problems("other", mg("1200"), 28) == []


def test_interruption_rule_on_plain_rows():
    start, end = D(2025, 1, 1), D(2025, 6, 1)
    span = services.PlainSpan
    assert services.interruption_problems(start, end, [span(D(2025, 2, 1), D(2025, 2, 10)),
                                                       span(D(2025, 3, 1), None)]) == []
    [outside] = services.interruption_problems(start, end, [span(D(2025, 7, 1), None)])
    assert (outside.field, outside.index) == ("start", 0)
    [overlap] = services.interruption_problems(
        start, end, [span(D(2025, 2, 1), D(2025, 2, 10)), span(D(2025, 2, 10), D(2025, 2, 20))])
    assert (overlap.field, overlap.index) == ("start", 1)
    assert "overlaps the interruption from 2025-02-01" in overlap.message
    [open_first] = services.interruption_problems(
        start, None, [span(D(2025, 2, 1), None), span(D(2025, 3, 1), None)])
    assert open_first.index == 1 and "still on hold" in open_first.message
    [late_end] = services.interruption_problems(start, end, [span(D(2025, 5, 1), D(2025, 7, 1))])
    assert late_end.field == "end"


# -- services ------------------------------------------------------------------------


@pytest.mark.django_db
def test_concomitant_courses_of_other_drugs_may_overlap(patient_a, course_a):
    hcq = services.start_course(patient_a, drug="hydroxychloroquine", start=D(2024, 6, 1),
                                mg=mg("200"), every_days=1)
    services.start_course(patient_a, drug="aspirin", start=course_a.start, mg=mg("100"))
    services.start_course(patient_a, drug="other", drug_name="Clofazimine", start=D(2025, 2, 1),
                          mg=mg("100"))
    assert Course.objects.filter(patient=patient_a).count() == 4
    with pytest.raises(ValidationError) as exc:
        services.start_course(patient_a, drug="hydroxychloroquine", start=D(2025, 3, 1), mg=mg("200"))
    assert ("overlaps the hydroxychloroquine course from 2024-06-01 (still running)"
            in field_error(exc, "start"))
    services.withdraw(hcq, end=D(2025, 2, 28), stop_reason="other")
    services.start_course(patient_a, drug="hydroxychloroquine", start=D(2025, 3, 1), mg=mg("200"))


@pytest.mark.django_db
def test_lenalidomide_and_thalidomide_never_overlap(patient_a, course_a):
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        services.start_course(patient_a, drug="thalidomide", start=D(2025, 3, 1), mg=mg("50"))
    assert "thalidomide and lenalidomide are never taken together" in field_error(exc, "start")
    assert _counts() == before
    services.withdraw(course_a, end=D(2025, 2, 28), stop_reason="adverse_event")
    restart = services.start_course(patient_a, drug="thalidomide", start=D(2025, 3, 1), mg=mg("50"))
    # Moving the withdrawal into the thalidomide course is refused too.
    with pytest.raises(ValidationError) as exc:
        services.update_course(course_a, start=course_a.start, end=D(2025, 3, 5), stop_reason="other")
    assert "thalidomide course from 2025-03-01" in field_error(exc, "end")
    assert restart.drug_label == "Thalidomide"


@pytest.mark.django_db
def test_course_refusals_name_their_field_and_write_nothing(patient_a):
    before = _counts()
    cases = [
        (dict(drug="lenalidomide", start=D(2025, 1, 6), mg=mg("1000")), "mg", "(2.5-25 mg)"),
        (dict(drug="other", start=D(2025, 1, 6), mg=mg("10")), "drug_name", "Name the drug"),
        (dict(drug="unobtainium", start=D(2025, 1, 6), mg=mg("10")), "drug", "not a drug of the record"),
        (dict(drug="lenalidomide", start=D(1979, 1, 6), mg=mg("5")), "start", "before the birth date"),
        (dict(drug="lenalidomide", start=timezone.localdate() + dt.timedelta(days=1), mg=mg("5")),
         "start", "is in the future"),
        (dict(drug="lenalidomide", start=D(2025, 1, 6), mg=mg("5"), every_days=3), "every_days",
         "not a frequency"),
    ]
    for kwargs, field, words in cases:
        with pytest.raises(ValidationError) as exc:
            services.start_course(patient_a, **kwargs)
        assert words in field_error(exc, field), (kwargs, exc.value.message_dict)
    assert _counts() == before


@pytest.mark.django_db
def test_withdrawal_in_the_future_or_a_dose_step_before_birth_is_refused(patient_a, course_a):
    with pytest.raises(ValidationError) as exc:
        services.withdraw(course_a, end=timezone.localdate() + dt.timedelta(days=2), stop_reason="remission")
    assert "in the future" in field_error(exc, "end")
    with pytest.raises(ValidationError) as exc:
        services.add_dose_step(course_a, date=D(2025, 2, 1), mg=mg("30"))
    assert "(2.5-25 mg)" in field_error(exc, "mg")
    course_a.refresh_from_db()
    assert course_a.end is None and course_a.dose_steps.count() == 1


@pytest.mark.django_db
def test_visits_lie_within_the_patients_life(patient_a):
    for day, words in ((D(1979, 12, 31), "before the birth date (1980-01-15)"),
                       (timezone.localdate() + dt.timedelta(days=1), "is in the future (today is")):
        with pytest.raises(ValidationError) as exc:
            services.record_visit(patient_a, date=day)
        assert words in field_error(exc, "date")
    assert Visit.objects.count() == 0
    services.record_visit(patient_a, date=D(1980, 1, 15))
    # The birth date cannot then move after the record it holds.
    with pytest.raises(ValidationError) as exc:
        services.update_patient(patient_a, birth_date=D(1981, 1, 1))
    assert "1980-01-15" in field_error(exc, "birth_date")


@pytest.mark.django_db
def test_lab_units_come_from_the_tests_list_and_are_stored_as_listed(patient_a):
    with pytest.raises(ValidationError) as exc:
        services.record_visit(patient_a, date=D(2025, 2, 1), labs=[
            services.LabInput(test="c3", value=mg("0.9"), unit="mmol/L")])
    assert "'mmol/L' is not a unit for C3; use one of g/L, mg/dL" in field_error(exc, "labs[0].unit")
    assert Visit.objects.count() == 0 and LabResult.objects.count() == 0
    services.record_visit(patient_a, date=D(2025, 2, 1), labs=[
        services.LabInput(test="anc", value=mg("1.2"), unit="×10⁹/L"),
        services.LabInput(test="creatinine", value=mg("70"), unit="µmol/L")])
    assert sorted(LabResult.objects.values_list("unit", flat=True)) == ["10^9/L", "umol/L"]


@pytest.mark.django_db
def test_interruptions_add_resume_edit_remove(patient_a, course_a):
    hold = services.add_interruption(course_a, start=D(2025, 2, 10), reason="neutropenia grade 3")
    assert hold.end is None
    # A second hold while the first is still open is refused.
    with pytest.raises(ValidationError) as exc:
        services.add_interruption(course_a, start=D(2025, 3, 1), end=D(2025, 3, 5))
    assert "still on hold" in " ".join(sum(exc.value.message_dict.values(), []))
    services.end_interruption(hold, end=D(2025, 2, 24))
    with pytest.raises(ValidationError) as exc:
        services.end_interruption(hold, end=D(2025, 2, 25))
    assert "already ended" in field_error(exc, "end")
    second = services.add_interruption(course_a, start=D(2025, 4, 1), end=D(2025, 4, 8))
    with pytest.raises(ValidationError) as exc:
        services.update_interruption(second, start=D(2025, 2, 20), end=D(2025, 4, 8))
    assert "overlaps the interruption from 2025-02-10" in field_error(exc, "start")
    second.refresh_from_db()
    assert second.start == D(2025, 4, 1)
    services.update_interruption(second, start=D(2025, 4, 2), end=D(2025, 4, 9), reason="infection")
    services.remove_interruption(second)
    assert list(course_a.interruptions.values_list("start", "end")) == [(D(2025, 2, 10), D(2025, 2, 24))]


@pytest.mark.django_db
def test_interruptions_stay_inside_their_course(patient_a, course_a):
    before = _counts()
    for kwargs, field, words in [
        (dict(start=D(2025, 1, 1)), "start", "outside its course (2025-01-06 to still running)"),
        (dict(start=D(2025, 2, 1), end=D(2025, 1, 20)), "end", "resumption 2025-01-20 is before the start"),
        (dict(start=timezone.localdate() + dt.timedelta(days=3)), "start", "in the future"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.add_interruption(course_a, **kwargs)
        assert words in field_error(exc, field), exc.value.message_dict
    assert _counts() == before
    services.add_interruption(course_a, start=D(2025, 3, 1), end=D(2025, 3, 15))
    # The withdrawal (or a corrected start) may not leave a hold outside the course.
    with pytest.raises(ValidationError) as exc:
        services.withdraw(course_a, end=D(2025, 3, 10), stop_reason="remission")
    assert "interruption from 2025-03-01" in field_error(exc, "end")
    with pytest.raises(ValidationError):
        services.update_course(course_a, start=D(2025, 3, 5), end=None, stop_reason="")
    course_a.refresh_from_db()
    assert (course_a.start, course_a.end) == (D(2025, 1, 6), None)


@pytest.mark.django_db
def test_the_starting_dose_can_be_corrected_but_stays_on_the_start(course_a):
    first = course_a.dose_steps.get()
    services.update_dose_step(first, date=course_a.start, mg=mg("10"), every_days=2)
    first.refresh_from_db()
    assert (first.mg, first.every_days) == (mg("10"), 2)
    with pytest.raises(ValidationError) as exc:
        services.update_dose_step(first, date=D(2025, 1, 7), mg=mg("10"), every_days=1)
    assert "stays on the course start" in field_error(exc, "date")
    with pytest.raises(ValidationError) as exc:
        services.update_dose_step(first, date=course_a.start, mg=mg("1000"), every_days=1)
    assert "(2.5-25 mg)" in field_error(exc, "mg")


# -- pages ---------------------------------------------------------------------------


def _error(response, field_id: str) -> str:
    html = response.content.decode()
    marker = f'id="{field_id}_error">'
    assert marker in html, f"no error beside {field_id}"
    return html.split(marker, 1)[1].split("</p>", 1)[0]


@pytest.mark.django_db
def test_course_form_refusals_sit_beside_their_field(client_a, patient_a, course_a):
    url = reverse("patients:course_start", args=[patient_a.pk])
    before = _counts()
    base = {"drug": "lenalidomide", "start": "2025-03-01", "mg": "5", "every_days": "1"}
    cases = [
        ({"drug": "thalidomide", "mg": "50"}, "id_start", "never taken together"),
        ({"drug": "hydroxychloroquine", "mg": "5000", "start": "2024-01-01"}, "id_mg", "(100-600 mg)"),
        ({"drug": "other", "mg": "10"}, "id_drug_name", "Name the drug"),
        ({"drug": "unobtainium"}, "id_drug", "not one of the available choices"),
        ({"drug": "aspirin", "mg": "100", "start": "1979-02-01"}, "id_start", "before the birth date"),
    ]
    for change, field_id, words in cases:
        response = client_a.post(url, base | change)
        assert response.status_code == 400, change
        assert words in _error(response, field_id), change
    assert _counts() == before
    response = client_a.post(url, base | {"drug": "aspirin", "mg": "100"})
    assert response.status_code == 302
    assert Course.objects.filter(drug="aspirin").count() == 1


@pytest.mark.django_db
def test_drug_change_rerenders_the_form_with_its_frequencies_first(client_a, patient_a):
    url = reverse("patients:course_start", args=[patient_a.pk])
    response = client_a.get(url, {"drug": "methotrexate", "ids": "inline", "mg": "15", "every_days": "1"},
                            HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert response["Vary"].count("HX-Request") == 1
    # Weekly first for methotrexate, and its plausible range shown.
    options = html.split('name="every_days"', 1)[1]
    assert options.index("weekly") < options.index("daily")
    assert '<option value="7" selected>weekly</option>' in options
    assert 'placeholder="2.5-30"' in html
    assert 'id="id_start_mg"' in html and 'value="15"' in html


def _v(course, data: dict) -> dict:
    """The form's data with the course's version, as the page would send it."""
    course.refresh_from_db()
    return {**data, "version": str(course.version)}


@pytest.mark.django_db
def test_interruption_pages(client_a, patient_a, course_a):
    add = reverse("patients:interruption_add", args=[course_a.pk])
    before = _counts()
    outside = client_a.post(add, _v(course_a, {"start": "2024-12-01", "reason": "neutropenia"}))
    assert outside.status_code == 400 and "outside its course" in _error(outside, "id_start")
    assert _counts() == before
    assert client_a.post(add, _v(course_a, {"start": "2025-02-10", "reason": "neutropenia"})).status_code == 302
    hold = Interruption.objects.get()
    overlap = client_a.post(add, _v(course_a, {"start": "2025-02-12", "end": "2025-02-20"}))
    assert overlap.status_code == 400 and "still on hold" in overlap.content.decode()
    page = client_a.get(reverse("patients:detail", args=[patient_a.pk])).content.decode()
    assert "neutropenia" in page and reverse("patients:interruption_resume", args=[hold.pk]) in page
    resume = reverse("patients:interruption_resume", args=[hold.pk])
    assert client_a.post(resume, _v(course_a, {"end": "2025-02-24"})).status_code == 302
    hold.refresh_from_db()
    assert hold.end == D(2025, 2, 24)
    edit = reverse("patients:interruption_edit", args=[hold.pk])
    late = client_a.post(edit, _v(course_a, {"start": "2025-02-10", "end": timezone.localdate() + dt.timedelta(days=9)}))
    assert late.status_code == 400 and "in the future" in _error(late, "id_end")
    assert client_a.post(reverse("patients:interruption_delete", args=[hold.pk])).status_code == 302
    assert Interruption.objects.count() == 0


@pytest.mark.django_db
def test_the_first_dose_step_is_corrected_from_its_page(client_a, course_a):
    first = course_a.dose_steps.get()
    url = reverse("patients:dose_step_edit", args=[first.pk])
    page = client_a.get(url).content.decode()
    assert 'disabled' in page.split('name="date"', 1)[1].split(">", 1)[0]
    wrong = client_a.post(url, _v(course_a, {"mg": "1000", "every_days": "1"}))
    assert wrong.status_code == 400 and "(2.5-25 mg)" in _error(wrong, "id_mg")
    assert client_a.post(url, _v(course_a, {"mg": "10", "every_days": "2"})).status_code == 302
    first.refresh_from_db()
    assert (first.date, first.mg, first.every_days) == (course_a.start, mg("10"), 2)


@pytest.mark.django_db
def test_visit_form_refuses_a_unit_outside_the_list_and_a_date_before_birth(client_a, patient_a):
    url = reverse("patients:visit_create", args=[patient_a.pk])
    unit = client_a.post(url, {"date": "2025-02-03", "clasi-skip": "on", "lab-c3-value": "0.9",
                               "lab-c3-unit": "mmol/L"})
    assert unit.status_code == 400 and "not a unit for C3" in _error(unit, "id_lab-c3-unit")
    early = client_a.post(url, {"date": "1979-05-01", "clasi-skip": "on"})
    assert early.status_code == 400 and "before the birth date" in _error(early, "id_date")
    assert Visit.objects.count() == 0


@pytest.mark.django_db
def test_a_viewer_cannot_write_treatments_and_another_clinic_sees_nothing(viewer_client, outsider_client,
                                                                        course_a):
    hold = services.add_interruption(course_a, start=D(2025, 2, 10))
    for name, arg in (("interruption_add", course_a.pk), ("interruption_resume", hold.pk),
                      ("interruption_edit", hold.pk), ("interruption_delete", hold.pk),
                      ("dose_step_edit", course_a.dose_steps.get().pk)):
        url = reverse(f"patients:{name}", args=[arg])
        assert viewer_client.post(url, {"start": "2025-03-01", "end": "2025-03-02"}).status_code == 403
        assert outsider_client.get(url).status_code == 404
    hold.refresh_from_db()
    assert hold.end is None and Interruption.objects.count() == 1


@pytest.mark.django_db
def test_weight_and_history_are_entered_on_their_forms(client_a, patient_a):
    url = reverse("patients:visit_create", args=[patient_a.pk])
    heavy = client_a.post(url, {"date": "2025-02-03", "clasi-skip": "on", "weight_kg": "6200"})
    assert heavy.status_code == 400 and "not a plausible weight" in _error(heavy, "id_weight_kg")
    assert client_a.post(url, {"date": "2025-02-03", "clasi-skip": "on", "weight_kg": "62.5"}).status_code == 302
    visit = Visit.objects.get()
    assert visit.weight_kg == mg("62.5")
    # Editing the visit keeps the weight shown and saved.
    edit = reverse("patients:visit_edit", args=[visit.pk])
    assert 'value="62.5"' in client_a.get(edit).content.decode()

    edit_patient = reverse("patients:edit", args=[patient_a.pk])
    response = client_a.post(edit_patient, {
        "code": "SYN-001", "sex": "F", "birth_date": "1980-01-15", "cle_subtypes": ["DLE"],
        "history_vte": "true", "history_antiphospholipid": "positive",
        "history_oestrogen_contraception": "unknown", "history_thalidomide_neuropathy": "false",
        "version": str(Patient.objects.get(pk=patient_a.pk).version),
    })
    assert response.status_code == 302
    patient_a.refresh_from_db()
    assert (patient_a.history_vte, patient_a.history_antiphospholipid,
            patient_a.history_oestrogen_contraception, patient_a.history_thalidomide_neuropathy) == (
        True, "positive", None, False)


@pytest.mark.django_db
def test_patient_list_shows_todays_treatments_from_the_stored_state(client_a, patient_a):
    """The list's "Treatment today" comes from scoring.state (no record read per
    row): the watched drug is marked, a hold is marked and said, and the
    services' next write (the resumption) shows at once."""
    today = timezone.localdate()
    lenalidomide = services.start_course(patient_a, start=today - dt.timedelta(days=40), mg=mg("10"))
    services.start_course(patient_a, start=today - dt.timedelta(days=400), mg=mg("200"),
                          drug="hydroxychloroquine")
    hold = services.add_interruption(lenalidomide, start=today - dt.timedelta(days=3))

    def cells() -> list[str]:
        html = client_a.get(reverse("patients:list"), {"q": patient_a.code}).content.decode()
        cell = html.split('data-label="Treatment today"', 1)[1].split("</td>", 1)[0]
        return [part.split("</span>")[0] for part in cell.split('<span class="')[1:]]

    assert cells() == [
        'treatment watched on-hold">Lenalidomide 10 mg daily (on hold)',
        'treatment">Hydroxychloroquine 200 mg daily',
    ]
    services.end_interruption(hold, end=today)
    assert cells()[0] == 'treatment watched">Lenalidomide 10 mg daily'
