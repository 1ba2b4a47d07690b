"""cle-tracker/2 import: every treatment, version 1 still read, each rule refused with its path.

The rules are patients.services' functions: these tests check that the
importer reaches each of them and names the document's path.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from jsonschema import Draft202012Validator

from clinical.drugs.profile import FREQUENCIES
from clinical.drugs.registry import DRUGS
from clinical.labs import LABS
from patients.exchange import DocumentError, import_document, schema
from patients.models import Course, DoseStep, Interruption, LabResult, Patient, Visit

ROOT = Path(__file__).resolve().parents[2]


def v2_doc() -> dict:
    return {
        "format": "cle-tracker/2",
        "clinic": "Treatments clinic",
        "patients": [
            {
                "code": "T-01",
                "sex": "F",
                "birth_date": "1975-03-02",
                "history": {"vte": False, "antiphospholipid": "negative",
                            "thalidomide_neuropathy": True, "note": "DVT in mother"},
                "courses": [
                    {"drug": "hydroxychloroquine", "start": "2020-01-01",
                     "doses": [{"date": "2020-01-01", "mg": 200, "every_days": 1}]},
                    {"drug": "lenalidomide", "start": "2021-01-04", "end": "2021-09-06",
                     "stop_reason": "remission",
                     "doses": [{"date": "2021-01-04", "mg": 10, "every_days": 1},
                               {"date": "2021-04-05", "mg": 5, "every_days": 1}],
                     "interruptions": [{"start": "2021-02-01", "end": "2021-02-15",
                                        "reason": "neutropenia grade 3"}]},
                    {"drug": "aspirin", "start": "2021-01-04", "end": "2021-09-06",
                     "stop_reason": "other",
                     "doses": [{"date": "2021-01-04", "mg": 100, "every_days": 1}]},
                    {"drug": "prednisone", "start": "2021-10-04", "end": "2021-10-25",
                     "stop_reason": "other",
                     "doses": [{"date": "2021-10-04", "mg": 30, "every_days": 1}]},
                    {"drug": "thalidomide", "start": "2021-11-01",
                     "doses": [{"date": "2021-11-01", "mg": 50, "every_days": 1}]},
                    {"drug": "other", "drug_name": "Clofazimine", "start": "2021-11-01",
                     "doses": [{"date": "2021-11-01", "mg": 100, "every_days": 1}]},
                ],
                "visits": [
                    {"date": "2021-01-04", "weight_kg": 62.5,
                     "clasi": {"areas": {"nose_malar": {"erythema": 2}}},
                     "labs": [{"test": "upcr", "value": 12, "unit": "mg/mmol"},
                              {"test": "anc", "value": 0.9, "unit": "x10^9/L"}]},
                ],
            }
        ],
    }


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Patient, Course, DoseStep, Interruption, Visit, LabResult))


@pytest.mark.django_db
def test_a_version_2_document_carries_every_treatment():
    import_document(v2_doc())
    patient = Patient.objects.get(code="T-01")
    assert (patient.history_vte, patient.history_antiphospholipid, patient.history_thalidomide_neuropathy,
            patient.history_oestrogen_contraception, patient.history_note) == (
        False, "negative", True, None, "DVT in mother")
    courses = {c.drug: c for c in Course.objects.filter(patient=patient)}
    assert set(courses) == {"hydroxychloroquine", "lenalidomide", "aspirin", "prednisone", "thalidomide",
                            "other"}
    assert courses["other"].drug_name == "Clofazimine"
    [hold] = courses["lenalidomide"].interruptions.all()
    assert (hold.start, hold.end, hold.reason) == (dt.date(2021, 2, 1), dt.date(2021, 2, 15),
                                                   "neutropenia grade 3")
    visit = Visit.objects.get(patient=patient)
    assert visit.weight_kg == Decimal("62.5")
    # Units are stored as the test's list spells them.
    assert dict(visit.labs.values_list("test", "unit")) == {"upcr": "mg/mmol", "anc": "10^9/L"}


def test_the_downloadable_schema_takes_its_vocabularies_from_the_registries():
    defs = schema()["$defs"]
    assert defs["course"]["properties"]["drug"]["enum"] == list(DRUGS)
    assert defs["lab"]["properties"]["test"]["enum"] == list(LABS)
    assert defs["dose"]["properties"]["every_days"]["enum"] == list(FREQUENCIES)
    for key, lab in LABS.items():
        for unit in lab.unit_names:
            assert f"{key}: " in defs["lab"]["properties"]["unit"]["description"] and unit in \
                defs["lab"]["properties"]["unit"]["description"]
    # The full schema (not the importer's relaxed copy) accepts a version 2 document ...
    validator = Draft202012Validator(schema())
    assert not list(validator.iter_errors(v2_doc()))
    # ... and says that `other` needs its name.
    nameless = v2_doc()
    del nameless["patients"][0]["courses"][5]["drug_name"]
    assert list(validator.iter_errors(nameless))


@pytest.mark.django_db
def test_the_demo_version_1_file_still_imports():
    doc = json.loads((ROOT / "tests" / "fixtures" / "demo_cohort_v1.json").read_text(encoding="utf-8"))
    assert doc["format"] == "cle-tracker/1"
    result = import_document(doc)
    assert len(result.created) == len(doc["patients"])
    assert Course.objects.exclude(drug="lenalidomide").count() == 0


def _set(doc: dict, path: list, value) -> dict:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


P = ["patients", 0]
LENA = [*P, "courses", 1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        # Overlapping watched courses (lenalidomide then thalidomide inside it).
        (lambda d: _set(d, [*P, "courses", 4, "start"], "2021-09-01") or
         _set(d, [*P, "courses", 4, "doses", 0, "date"], "2021-09-01"),
         "patients[0].courses[4].start", "thalidomide and lenalidomide are never taken together"),
        # The same drug twice at once.
        (lambda d: d["patients"][0]["courses"].append(
            {"drug": "hydroxychloroquine", "start": "2022-01-01",
             "doses": [{"date": "2022-01-01", "mg": 200, "every_days": 1}]}),
         "patients[0].courses[6].start", "one hydroxychloroquine course at a time"),
        (lambda d: _set(d, [*LENA, "doses", 0, "mg"], 1000),
         "patients[0].courses[1].doses[0].mg", "outside the plausible range for Lenalidomide (2.5-25 mg)"),
        (lambda d: _set(d, [*LENA, "interruptions", 0, "start"], "2020-12-01"),
         "patients[0].courses[1].interruptions[0].start", "outside its course"),
        (lambda d: d["patients"][0]["courses"][1]["interruptions"].append(
            {"start": "2021-02-10", "end": "2021-03-01"}),
         "patients[0].courses[1].interruptions[1].start", "overlaps the interruption from 2021-02-01"),
        (lambda d: d["patients"][0]["courses"][5].pop("drug_name"),
         "patients[0].courses[5].drug_name", "name the drug"),
        (lambda d: _set(d, [*P, "courses", 0, "drug_name"], "Plaquenil"),
         "patients[0].courses[0].drug_name", "only given for 'other'"),
        (lambda d: _set(d, [*P, "courses", 0, "drug"], "plaquenil"),
         "patients[0].courses[0].drug", '"plaquenil" is not one of'),
        (lambda d: _set(d, [*P, "visits", 0, "labs", 0, "unit"], "mg/dL"),
         "patients[0].visits[0].labs[0].unit", "'mg/dL' is not a unit for Urine protein/creatinine ratio"),
        (lambda d: d["patients"][0]["visits"][0]["labs"][1].pop("unit"),
         "patients[0].visits[0].labs[1].unit", "is not a unit for Neutrophils"),
        (lambda d: _set(d, [*P, "visits", 0, "date"], "1975-01-01"),
         "patients[0].visits[0].date", "before the birth date (1975-03-02)"),
        (lambda d: _set(d, [*P, "visits", 0, "date"], (dt.date.today() + dt.timedelta(days=3)).isoformat()),
         "patients[0].visits[0].date", "is in the future"),
        (lambda d: _set(d, [*P, "courses", 0, "start"], "1970-01-01") or
         _set(d, [*P, "courses", 0, "doses", 0, "date"], "1970-01-01"),
         "patients[0].courses[0].start", "before the birth date"),
        (lambda d: _set(d, [*P, "visits", 0, "weight_kg"], 6250),
         "patients[0].visits[0].weight_kg", "not a plausible weight"),
        (lambda d: _set(d, [*LENA, "doses", 1, "every_days"], 3),
         "patients[0].courses[1].doses[1].every_days", "3 is not one of 1, 2, 7, 28"),
    ],
)
def test_each_rule_is_refused_with_its_path_and_nothing_written(change, path, words):
    doc = v2_doc()
    change(doc)
    before = _counts()
    with pytest.raises(DocumentError) as caught:
        import_document(doc)
    assert caught.value.path == path, str(caught.value)
    assert words in caught.value.message, str(caught.value)
    assert _counts() == before


def _v1(doc: dict) -> dict:
    """The version 1 part of the v2 example: lenalidomide only, no v2 key."""
    v1 = copy.deepcopy(doc)
    v1["format"] = "cle-tracker/1"
    patient = v1["patients"][0]
    del patient["history"]
    patient["courses"] = [patient["courses"][1]]
    del patient["courses"][0]["interruptions"]
    visit = patient["visits"][0]
    del visit["weight_kg"]
    visit["labs"] = visit["labs"][1:]
    return v1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["patients"][0].update(history={"vte": True}), "patients[0].history"),
        (lambda d: d["patients"][0]["courses"][0].update(interruptions=[]),
         "patients[0].courses[0].interruptions"),
        (lambda d: d["patients"][0]["visits"][0].update(weight_kg=60), "patients[0].visits[0].weight_kg"),
        (lambda d: d["patients"][0]["courses"][0].update(drug="thalidomide"),
         "patients[0].courses[0].drug"),
        (lambda d: d["patients"][0]["visits"][0]["labs"].append({"test": "upcr", "value": 3, "unit": "mg/mmol"}),
         "patients[0].visits[0].labs[1].test"),
    ],
)
def test_a_version_2_key_in_a_version_1_document_is_an_error_with_its_path(change, path):
    doc = _v1(v2_doc())
    import_document(copy.deepcopy(doc), clinic=None)  # the version 1 part alone imports
    Patient.objects.all().delete()
    change(doc)
    with pytest.raises(DocumentError) as caught:
        import_document(doc)
    assert caught.value.path == path, str(caught.value)
    assert 'belongs to cle-tracker/2, but the document says "format": "cle-tracker/1"' in caught.value.message


@pytest.mark.django_db
def test_the_upload_page_names_the_path_and_writes_nothing(client_a, clinic_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    doc = v2_doc()
    doc["patients"][0]["courses"][1]["doses"][0]["mg"] = 1000
    upload = SimpleUploadedFile("bad.json", json.dumps(doc).encode(), content_type="application/json")
    response = client_a.post(reverse("exchange:upload", args=[clinic_a.pk]), {"document": upload})
    # The upload queues a job; the worker refuses the document and its page names the path.
    from tests.exchange.test_views import _run_and_show

    assert "patients[0].courses[1].doses[0].mg" in _run_and_show(client_a, response)
    assert Patient.objects.count() == 0


@pytest.mark.django_db
def test_both_schemas_download(viewer_client):
    for name, fmt in (("exchange:schema", "cle-tracker/2"), ("exchange:schema_v1", "cle-tracker/1")):
        response = viewer_client.get(reverse(name))
        assert response.status_code == 200
        assert json.loads(b"".join(response.streaming_content))["$id"] == fmt


def test_the_demo_files_are_what_the_seeded_script_writes():
    import sys

    sys.path.insert(0, str(ROOT))
    from scripts.make_demo_cohort import generate

    for path, version in ((ROOT / "patients" / "demo_cohort.json", 2),
                          (ROOT / "tests" / "fixtures" / "demo_cohort_v1.json", 1)):
        assert json.loads(path.read_text(encoding="utf-8")) == generate(version=version), path


@pytest.mark.django_db
def test_the_demo_clinic_carries_concomitant_treatments():
    doc = json.loads((ROOT / "patients" / "demo_cohort.json").read_text(encoding="utf-8"))
    assert doc["format"] == "cle-tracker/2"
    import_document(doc)
    drugs = set(Course.objects.values_list("drug", flat=True))
    assert {"lenalidomide", "hydroxychloroquine", "aspirin", "prednisone", "thalidomide"} <= drugs
    assert Course.objects.filter(drug="hydroxychloroquine", end__isnull=True).count() >= 3
    assert Interruption.objects.filter(reason__startswith="neutropenia").count() == 1
    # The prednisone burst follows a lenalidomide withdrawal; thalidomide restarts after one.
    burst = Course.objects.get(drug="prednisone")
    assert Course.objects.filter(patient=burst.patient, drug="lenalidomide", end__lt=burst.start).exists()
    thal = Course.objects.get(drug="thalidomide")
    assert Course.objects.filter(patient=thal.patient, drug="lenalidomide", end__lt=thal.start).exists()
    assert Visit.objects.exclude(weight_kg=None).count() == len(doc["patients"])
