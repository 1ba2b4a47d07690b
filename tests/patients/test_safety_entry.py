"""Issue 11 through the forms, the import and the pages: units from the list, grades
beside values, bad input refused with its field or path, adverse events, the
clearance and the safety items on the patient page, the unit report."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from patients.exchange import DocumentError, export_document, import_document
from patients.models import AdverseEvent, LabResult, Patient, Visit
from patients.services import (
    AdverseEventInput,
    LabInput,
    create_patient,
    record_visit,
    start_course,
    update_patient,
)
from tests.exchange.test_import_v2 import v2_doc

pytestmark = pytest.mark.django_db


def ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def _post(**fields) -> dict:
    return {"date": "2025-02-03", "clasi-skip": "on", **fields}


def _create(client, patient, data):
    return client.post(reverse("patients:visit_create", args=[patient.pk]), data)


def _errors(response) -> str:
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', response.content.decode()))


# -- units: a select of the test's list, the clinic's usual unit first ----------------------


def test_the_unit_is_a_select_of_the_tests_list_defaulting_to_the_clinics_unit(client_a, patient_a, settings):
    settings.CLE_LAB_DEFAULT_UNITS = {**settings.CLE_LAB_DEFAULT_UNITS, "anc": "cells/uL"}
    html = client_a.get(reverse("patients:visit_create", args=[patient_a.pk])).content.decode()
    select = re.search(r'<select name="lab-anc-unit"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    assert 'data-default="cells/uL"' in re.search(r'<select name="lab-anc-unit"[^>]*>', html).group(0)
    options = re.findall(r'<option value="([^"]*)"( selected)?>', select.group(1))
    assert [v for v, _ in options] == ["10^9/L", "G/L", "10^3/uL", "K/uL", "cells/uL", "/uL"]
    assert [v for v, sel in options if sel] == ["cells/uL"]
    # Without a setting: the canonical unit.
    c3 = re.search(r'<select name="lab-c3-unit"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)" selected>', c3) == ["g/L"]


def test_anc_800_cells_per_ul_saved_as_entered_and_graded_on_the_visit_page(client_a, patient_a, course_a):
    response = _create(client_a, patient_a, _post(**{"lab-anc-value": "800", "lab-anc-unit": "cells/uL"}))
    assert response.status_code == 302, _errors(response)
    lab = LabResult.objects.get(test="anc")
    assert (lab.value, lab.unit) == (Decimal(800), "cells/uL")  # kept as entered
    page = client_a.get(reverse("patients:visit", args=[lab.visit_id])).content.decode()
    row = re.search(r'<tr class="out-of-range" data-test="anc">(.*?)</tr>', page, re.S).group(1)
    assert "800" in row and "cells/uL" in row and "= 0.8 10^9/L" in row
    assert 'data-testid="ctcae-grade">grade 3<' in row
    patient_page = client_a.get(reverse("patients:detail", args=[patient_a.pk])).content.decode()
    labs_row = re.search(r'<tr data-test="anc"[^>]*>(.*?)</tr>', patient_page, re.S).group(1)
    assert "800 cells/uL" in labs_row and "grade 3" in labs_row


def test_a_decimal_comma_is_read_as_a_point(client_a, patient_a):
    response = _create(client_a, patient_a, _post(**{"lab-anc-value": "1,2", "lab-anc-unit": "10^9/L",
                                                      "weight_kg": "70,5"}))
    assert response.status_code == 302, _errors(response)
    assert LabResult.objects.get(test="anc").value == Decimal("1.2")
    assert Visit.objects.get().weight_kg == Decimal("70.5")


def test_an_unknown_unit_is_refused_on_the_form_with_its_field_named(client_a, patient_a):
    response = _create(client_a, patient_a, _post(**{"lab-c3-value": "85", "lab-c3-unit": "mg/L"}))
    assert response.status_code == 400  # the form again, with its errors
    html = response.content.decode()
    assert re.search(r'id="id_lab-c3-unit_error">[^<]*not a unit for C3; use one of g/L, mg/dL', html)
    assert Visit.objects.count() == 0 and LabResult.objects.count() == 0


@pytest.mark.parametrize(("field", "value", "unit", "words"), [
    ("lab-anc-value", "5000", "10^9/L", "5000 10^9/L is not a plausible value for Neutrophils (ANC)"),
    ("lab-platelets-value", "40000", "10^9/L", "not a plausible value for Platelets"),
    ("lab-c3-value", "85", "g/L", "not a plausible value for C3"),
])
def test_an_absurd_value_is_refused_with_its_field_named(client_a, patient_a, field, value, unit, words):
    test = field.split("-")[1]
    response = _create(client_a, patient_a, _post(**{field: value, f"lab-{test}-unit": unit}))
    assert response.status_code == 400  # the form again, with its errors
    assert re.search(rf'id="id_{field}_error">[^<]*{re.escape(words)}', response.content.decode(), re.I), \
        _errors(response)
    assert Visit.objects.count() == 0


def test_weight_900_kg_is_refused_with_its_field_named(client_a, patient_a):
    response = _create(client_a, patient_a, _post(weight_kg="900"))
    assert response.status_code == 400  # the form again, with its errors
    assert "900 kg is not a plausible weight" in response.content.decode()
    assert Visit.objects.count() == 0


def test_a_pregnancy_result_on_another_test_is_refused_by_the_service(patient_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        record_visit(patient_a, date=dt.date(2025, 2, 3), labs=[LabInput(test="anc", result="positive")])
    assert "labs[0].result" in caught.value.message_dict
    assert Visit.objects.count() == 0


# -- the import: same rules, the document's path ------------------------------------------------


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Patient, Visit, LabResult, AdverseEvent))


def _set_lab(doc: dict, lab: dict) -> dict:
    doc["patients"][0]["visits"][0]["labs"] = [lab]
    return doc


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda d: _set_lab(d, {"test": "anc", "value": 800, "unit": "cells/mm3"}),
     "patients[0].visits[0].labs[0].unit", "'cells/mm3' is not a unit for Neutrophils (ANC)"),
    (lambda d: _set_lab(d, {"test": "anc", "value": 5000, "unit": "x10^9/L"}),
     "patients[0].visits[0].labs[0].value", "not a plausible value for Neutrophils (ANC)"),
    (lambda d: _set_lab(d, {"test": "anc", "value": "positive", "unit": "x10^9/L"}),
     "patients[0].visits[0].labs[0].value", ""),
    (lambda d: d["patients"][0].__setitem__("weight_kg", 70),
     "patients[0].weight_kg", "unknown key"),  # a weight without a visit
    (lambda d: d["patients"][0]["visits"][0].__setitem__("weight_kg", 900),
     "patients[0].visits[0].weight_kg", "900 kg is not a plausible weight"),
    (lambda d: d["patients"][0]["visits"][0].__setitem__(
        "adverse_events", [{"term": "other", "grade": 2}]),
     "patients[0].visits[0].adverse_events[0].term_other", "is required"),
    (lambda d: d["patients"][0]["visits"][0].__setitem__(
        "adverse_events", [{"term": "Rash acneiform", "grade": 2, "action": "stopped"}]),
     "patients[0].visits[0].adverse_events[0].action", ""),
])
def test_bad_input_in_the_import_is_refused_with_its_path_and_nothing_written(change, path, words):
    doc = v2_doc()
    change(doc)
    before = _counts()
    with pytest.raises(DocumentError) as caught:
        import_document(doc)
    assert caught.value.path == path, str(caught.value)
    assert words in str(caught.value), str(caught.value)
    assert _counts() == before


def test_a_c3_in_mg_per_dl_imports_as_entered_and_reads_as_g_per_l():
    doc = _set_lab(v2_doc(), {"test": "c3", "value": 85, "unit": "mg/dL"})
    import_document(doc)
    lab = LabResult.objects.get(test="c3")
    assert (lab.value, lab.unit) == (Decimal(85), "mg/dL")
    from patients.snapshot import record_for

    (c3,) = [x for x in record_for(lab.visit.patient).labs if x.test == "c3"]
    assert c3.canonical == Decimal("0.85")


# -- adverse events -------------------------------------------------------------------------------


def test_an_event_from_the_list_with_attribution_and_action_is_saved_shown_and_exported(client_a, patient_a):
    response = _create(client_a, patient_a, _post(**{
        "ae-0-term": "neutrophil count decreased", "ae-0-grade": "3",
        "ae-0-attribution": "probable", "ae-0-action": "interrupted",
        "ae-1-term": "other", "ae-1-other": "Nail dystrophy", "ae-1-grade": "1",
    }))
    assert response.status_code == 302, _errors(response)
    events = {e.term: e for e in AdverseEvent.objects.all()}
    assert set(events) == {"Neutrophil count decreased", "other"}  # the list's spelling
    assert (events["Neutrophil count decreased"].attribution, events["Neutrophil count decreased"].action) == (
        "probable", "interrupted")
    assert events["other"].term_other == "Nail dystrophy"
    page = client_a.get(reverse("patients:visit", args=[Visit.objects.get().pk])).content.decode()
    assert "Neutrophil count decreased — CTCAE grade 3 · attribution: probable · action taken: interrupted" in page
    assert "Other: Nail dystrophy — CTCAE grade 1" in page
    doc = export_document(patient_a.clinic)
    exported = doc["patients"][0]["visits"][0]["adverse_events"]
    assert exported == [
        {"term": "Neutrophil count decreased", "grade": 3, "attribution": "probable", "action": "interrupted"},
        {"term": "other", "grade": 1, "term_other": "Nail dystrophy"},
    ]
    # And back: the same events from the exported document.
    patient_a.delete()
    import_document(doc)
    again = sorted(AdverseEvent.objects.values_list("term", "term_other", "attribution", "action"))
    assert again == [("Neutrophil count decreased", "", "probable", "interrupted"),
                     ("other", "Nail dystrophy", "", "")]


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"ae-0-term": "Rash spotty", "ae-0-grade": "2"}, "ae-0-term", "is not a CTCAE v5 term"),
    ({"ae-0-term": "other", "ae-0-grade": "2"}, "ae-0-other", "needs its words"),
    ({"ae-0-term": "Nausea"}, "ae-0-grade", "Give the CTCAE grade"),
    ({"ae-0-action": "withdrawn"}, "ae-0-term", "Name the adverse event"),
])
def test_a_bad_event_is_refused_beside_its_field(client_a, patient_a, fields, field, words):
    response = _create(client_a, patient_a, _post(**fields))
    assert response.status_code == 400  # the form again, with its errors
    assert re.search(rf'id="id_{field}_error">[^<]*{words}', response.content.decode()), _errors(response)
    assert Visit.objects.count() == 0


# -- the patient page ------------------------------------------------------------------------------


def _older_patient(clinic, **extra):
    return create_patient(clinic, code="SYN-K1", sex="F", birth_date=ago(60 * 366), **extra)


def test_clearance_and_the_dose_review_item_on_the_patient_page(client_a, clinic_a):
    patient = _older_patient(clinic_a)
    start_course(patient, start=ago(30), mg=Decimal("5"))
    record_visit(patient, date=ago(2), weight_kg=Decimal(70),
                 labs=[LabInput(test="creatinine", value=Decimal("1.6"), unit="mg/dL")])
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    box = re.search(r'data-testid="creatinine-clearance">(.*?)</p>', html, re.S).group(1)
    assert "Creatinine clearance 41.3 mL/min" in box
    assert f"creatinine 1.6 mg/dL on {ago(2)}" in box and f"weight 70 kg on {ago(2)}" in box
    assert "age 60" in box
    assert 'data-item-kind="crcl_below_review"' in html  # urgent: its acknowledgement box
    assert "Creatinine clearance 41.3 mL/min (below 60)" in html


def test_missing_weight_is_named_on_the_patient_page(client_a, clinic_a):
    patient = _older_patient(clinic_a)
    start_course(patient, start=ago(30), mg=Decimal("5"))
    record_visit(patient, date=ago(2), labs=[LabInput(test="creatinine", value=Decimal("90"), unit="umol/L")])
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Creatinine clearance not computable</strong>: no weight recorded" in html


def test_a_positive_pregnancy_test_is_red_not_amber(client_a, clinic_a):
    patient = _older_patient(clinic_a, reproductive_potential=True)
    start_course(patient, start=ago(30), mg=Decimal("5"))
    record_visit(patient, date=ago(2), labs=[LabInput(test="pregnancy", result="positive"),
                                              LabInput(test="c3", value=Decimal("0.5"), unit="g/L")])
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    # Urgent: its own box, red (charts.css .safety-item.kind-pregnancy_positive).
    assert re.search(r'<article class="safety-item kind-pregnancy_positive"', html)
    assert 'class="signal systemic"' in html  # the low C3 keeps its own style
    visit = Visit.objects.get(patient=patient)
    page = client_a.get(reverse("patients:visit", args=[visit.pk])).content.decode()
    assert re.search(r'<tr class="out-of-range pregnancy-positive" data-test="pregnancy">', page)


def test_vte_history_without_prophylaxis_is_a_signal_on_the_patient_page(client_a, clinic_a):
    patient = _older_patient(clinic_a)
    start_course(patient, start=ago(30), mg=Decimal("5"))
    url = reverse("patients:detail", args=[patient.pk])
    assert 'data-kind="thrombosis_risk"' not in client_a.get(url).content.decode()
    update_patient(patient, history_vte=True)
    html = client_a.get(url).content.decode()
    assert 'data-kind="thrombosis_risk"' in html and "a history of VTE" in html
    start_course(patient, drug="aspirin", start=ago(1), mg=Decimal("100"))
    assert 'data-kind="thrombosis_risk"' not in client_a.get(url).content.decode()


def test_the_history_is_on_the_patient_form(client_a, patient_a):
    html = client_a.get(reverse("patients:edit", args=[patient_a.pk])).content.decode()
    for name in ("history_vte", "history_antiphospholipid", "history_oestrogen_contraception",
                 "history_thalidomide_neuropathy"):
        assert f'name="{name}"' in html


# -- the unit report ----------------------------------------------------------------------------------


def test_lab_units_report_lists_values_off_the_list_never_dropped(patient_a):
    visit = record_visit(patient_a, date=dt.date(2025, 2, 3),
                         labs=[LabInput(test="anc", value=Decimal("1.2"), unit="10^9/L")])
    # Rows stored before units were a list (written around the service on purpose).
    LabResult.objects.create(visit=visit, test="c3", value=Decimal("850"), unit="mg/L")
    LabResult.objects.create(visit=visit, test="platelets", value=Decimal("140"), unit="")
    out = StringIO()
    call_command("lab_units_report", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split("\t") == [patient_a.clinic.name, "SYN-001", "2025-02-03", "c3", "850", "'mg/L'",
                                    "use one of: g/L, mg/dL"]
    assert lines[1].split("\t")[3:6] == ["platelets", "140", "''"]
    assert lines[2].startswith("2 lab values with a unit off the list")
    assert LabResult.objects.count() == 3  # nothing changed or dropped


def test_lab_units_report_says_when_all_is_well(patient_a):
    out = StringIO()
    call_command("lab_units_report", stdout=out)
    assert out.getvalue().strip() == "Every stored lab value has a unit from its test's list."


def test_an_old_unit_is_shown_on_the_edit_form_not_replaced_by_the_default(client_a, patient_a):
    visit = record_visit(patient_a, date=dt.date(2025, 2, 3))
    LabResult.objects.create(visit=visit, test="c3", value=Decimal("850"), unit="mg/L")
    html = client_a.get(reverse("patients:visit_edit", args=[visit.pk])).content.decode()
    c3 = re.search(r'<select name="lab-c3-unit"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)" selected>', c3) == ["mg/L"]
    assert "mg/L (not on the list)" in c3


def test_settings_refuse_a_unit_off_the_list(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from clinic.env import env_choice, env_lab_units

    monkeypatch.setenv("CLE_LAB_DEFAULT_UNITS", "anc=cells/uL, c3=mg/dl")
    assert env_lab_units("CLE_LAB_DEFAULT_UNITS")["c3"] == "mg/dL"
    monkeypatch.setenv("CLE_LAB_DEFAULT_UNITS", "anc=cells/mm3")
    with pytest.raises(ImproperlyConfigured, match="CLE_LAB_DEFAULT_UNITS"):
        env_lab_units("CLE_LAB_DEFAULT_UNITS")
    monkeypatch.setenv("CLE_PREGNANCY_PROGRAMME", "uk")
    with pytest.raises(ImproperlyConfigured, match="CLE_PREGNANCY_PROGRAMME"):
        env_choice("CLE_PREGNANCY_PROGRAMME", ("eu", "us"), "eu")


def test_the_worklist_reader_carries_weights_for_the_clearance(clinic_a, django_assert_num_queries):
    from patients.snapshot import records_for
    from scoring.safety import safety_options
    from clinical.rules.worklist import safety_items

    patient = _older_patient(clinic_a)
    start_course(patient, start=ago(30), mg=Decimal("5"))
    record_visit(patient, date=ago(5), weight_kg=Decimal(70))  # weight, no examination
    record_visit(patient, date=ago(2), labs=[LabInput(test="creatinine", value=Decimal("1.6"), unit="mg/dL")])
    # full=False (flags, worklists): the same number of queries as before (patients, dose
    # steps, interruptions, courses, visits+assessments, labs), the weight included.
    with django_assert_num_queries(6):
        (record,) = records_for(Patient.objects.filter(pk=patient.pk), full=False).values()
    assert record.weights == ((ago(5), Decimal(70)),)
    kinds = [i.kind for i in safety_items(record, timezone.localdate(), **safety_options())]
    assert kinds == ["crcl_below_review"]


# -- the CTCAE list in the import (clasi.md 5.4: one rule, services.ae_problems) ----------------


def _with_event(doc: dict, event: dict) -> dict:
    doc["patients"][0]["visits"][0]["adverse_events"] = [event]
    return doc


def test_a_version_2_term_off_the_ctcae_list_is_refused_with_its_path():
    doc = _with_event(v2_doc(), {"term": "Tummy ache", "grade": 1})
    before = _counts()
    with pytest.raises(DocumentError) as caught:
        import_document(doc)
    assert caught.value.path == "patients[0].visits[0].adverse_events[0].term"
    assert "is not a CTCAE v5 term" in str(caught.value)
    assert _counts() == before


def test_a_version_2_term_in_another_case_is_kept_in_the_lists_spelling():
    import_document(_with_event(v2_doc(), {"term": "insomnia", "grade": 1}))
    assert list(AdverseEvent.objects.values_list("term", "term_other")) == [("Insomnia", "")]


def test_a_version_1_free_text_term_becomes_other_with_its_words():
    from tests.exchange.test_import_export import _small_doc

    doc = _small_doc()  # cle-tracker/1 knew no term list
    doc["patients"][0]["visits"][1]["adverse_events"] = [
        {"term": "Diarrhoea", "grade": 1}, {"term": "insomnia", "grade": 2}]
    import_document(doc)
    assert sorted(AdverseEvent.objects.values_list("term", "term_other", "grade")) == [
        ("Insomnia", "", 2), ("other", "Diarrhoea", 1)]


def test_clearance_is_shown_after_the_course_when_no_test_is_due(client_a, clinic_a):
    # A man without reproductive potential, lenalidomide withdrawn months ago: no
    # pregnancy test, no blood count and no counselling is due, but the clearance
    # (asked before any restart) stays on the page with what it came from.
    patient = create_patient(clinic_a, code="SYN-K2", sex="M", birth_date=ago(60 * 366))
    start_course(patient, start=ago(400), mg=Decimal("5"), end=ago(200), stop_reason="remission")
    record_visit(patient, date=ago(2), weight_kg=Decimal(70),
                 labs=[LabInput(test="creatinine", value=Decimal("1.6"), unit="mg/dL")])
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'data-monitoring=' not in html  # nothing due: the premise of this test
    box = re.search(r'data-testid="creatinine-clearance">(.*?)</p>', html, re.S)
    assert box is not None, "the clearance is computed but not on the page"
    assert "Creatinine clearance 48.6 mL/min" in box.group(1)


def test_a_converted_value_shows_no_more_precision_than_the_entry(client_a, patient_a):
    # 1.6 mg/dL x 88.42 = 141.472 umol/L: four significant digits (141.5), as the
    # clearance box shows it, not three decimals the laboratory never measured.
    visit = record_visit(patient_a, date=ago(3),
                         labs=[LabInput(test="creatinine", value=Decimal("1.6"), unit="mg/dL"),
                               LabInput(test="c3", value=Decimal("85"), unit="mg/dL")])
    for url in (reverse("patients:visit", args=[visit.pk]), reverse("patients:detail", args=[patient_a.pk])):
        html = client_a.get(url).content.decode()
        assert "(= 141.5 umol/L)" in html and "141.472" not in html
        assert "(= 0.85 g/L)" in html
