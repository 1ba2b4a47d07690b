"""cle-tracker/1: round trip, all-or-nothing import with paths, unknown keys, --update."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clinic.models import Clinic
from patients.exchange import (
    DocumentError,
    dumps_document,
    export_document,
    import_document,
)
from patients.models import AdverseEvent, Course, DoseStep, LabResult, Patient, Visit
from scoring.models import Assessment
from tests.exchange.test_export_v2 import needs_v2_import

# The version 1 demo file (scripts/make_demo_cohort.py --format 1): version 1 still imports.
DEMO = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "demo_cohort_v1.json"


@pytest.fixture
def demo_doc() -> dict:
    return json.loads(DEMO.read_text(encoding="utf-8"))


def _counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (Clinic, Patient, Course, DoseStep, Visit, Assessment, LabResult, AdverseEvent)
    }


def _small_doc() -> dict:
    return {
        "format": "cle-tracker/1",
        "clinic": "Hand clinic",
        "patients": [
            {
                "code": "H-01",
                "sex": "F",
                "courses": [
                    {
                        "drug": "lenalidomide",
                        "start": "2025-01-06",
                        "doses": [{"date": "2025-01-06", "mg": 5, "every_days": 1}],
                    }
                ],
                "visits": [
                    {"date": "2025-01-06", "clasi": {"areas": {"nose_malar": {"erythema": 2}}}},
                    {
                        "date": "2025-02-03",
                        "clasi": {"areas": {}},
                        "labs": [{"test": "anc", "value": 0.85, "unit": "10^9/L"}],
                    },
                ],
            }
        ],
    }


@needs_v2_import
def test_round_trip_on_the_demo_document_is_byte_identical(db, demo_doc):
    first = import_document(demo_doc, source="demo_cohort.json")
    assert len(first.created) == 15
    exported = dumps_document(export_document(first.clinic))

    # Into an empty database: nothing of the first import survives.
    Patient.objects.all().delete()
    Clinic.objects.all().delete()
    assert _counts()["Visit"] == 0
    second = import_document(json.loads(exported))
    again = dumps_document(export_document(second.clinic))
    assert again == exported

    # The export carries what the demo document said, not something else.
    doc = json.loads(exported)
    assert doc["clinic"] == demo_doc["clinic"]
    assert [p["code"] for p in doc["patients"]] == sorted(p["code"] for p in demo_doc["patients"])
    assert sum(len(p["visits"]) for p in doc["patients"]) == sum(
        len(p["visits"]) for p in demo_doc["patients"]
    )


def test_export_prints_decimals_without_trailing_noise(db):
    result = import_document(_small_doc())
    text = dumps_document(export_document(result.clinic))
    assert '"mg": 5,' in text and '"mg": 5.0' not in text
    assert '"value": 0.85' in text
    assert Assessment.objects.get(visit__date="2025-01-06").activity == 2


def test_one_bad_field_deep_in_the_document_writes_nothing_and_names_the_path(db, demo_doc):
    bad = copy.deepcopy(demo_doc)
    bad["patients"][3]["visits"][2]["clasi"]["areas"]["ears"] = {"erythema": 5}
    before = _counts()
    with pytest.raises(DocumentError) as caught:
        import_document(bad)
    assert (
        str(caught.value)
        == "patients[3].visits[2].clasi.areas.ears.erythema: 5 is not one of 0, 1, 2, 3"
    )
    assert _counts() == before


@pytest.mark.parametrize(
    "mutate, path, words",
    [
        (
            lambda d: d["patients"][5]["visits"][1]["labs"].__setitem__(
                0, {"test": "c3", "value": "low"}
            ),
            "patients[5].visits[1].labs[0].value",
            "not of type number",
        ),
        (
            lambda d: d["patients"][7]["courses"][0]["doses"][0].__setitem__("every_days", 0),
            "patients[7].courses[0].doses[0].every_days",
            "",
        ),
        (
            lambda d: d["patients"][2].__setitem__("sex", "Q"),
            "patients[2].sex",
            '"Q" is not one of "F", "M", "X"',
        ),
        (
            lambda d: d["patients"][4]["visits"][3].__setitem__("date", "2025-02-30"),
            "patients[4].visits[3].date",
            "not a date",
        ),
        (
            lambda d: d["patients"][9]["visits"][0]["clasi"].__setitem__("scalp_scarring", 2),
            "patients[9].visits[0].clasi.scalp_scarring",
            "2",
        ),
    ],
)
def test_schema_and_instrument_errors_name_their_path(db, demo_doc, mutate, path, words):
    bad = copy.deepcopy(demo_doc)
    mutate(bad)
    with pytest.raises(DocumentError) as caught:
        import_document(bad)
    assert caught.value.path == path
    assert words in caught.value.message
    assert Patient.objects.count() == 0


def test_the_first_error_in_document_order_is_reported(db, demo_doc):
    bad = copy.deepcopy(demo_doc)
    bad["patients"][10]["sex"] = "Q"  # later: a schema error
    bad["patients"][1]["visits"][4]["clasi"]["areas"]["scalp"] = {
        "scarring": 1
    }  # earlier: a CLASI error
    with pytest.raises(DocumentError) as caught:
        import_document(bad)
    assert (
        str(caught.value)
        == "patients[1].visits[4].clasi.areas.scalp.scarring: not scored on the scalp; use scalp_scarring"
    )


@pytest.mark.parametrize(
    "where, path",
    [
        (lambda d: d, "colour"),
        (lambda d: d["patients"][6], "patients[6].colour"),
        (lambda d: d["patients"][6]["courses"][0], "patients[6].courses[0].colour"),
        (lambda d: d["patients"][6]["visits"][2], "patients[6].visits[2].colour"),
        (
            lambda d: d["patients"][6]["visits"][2]["labs"][0],
            "patients[6].visits[2].labs[0].colour",
        ),
        (lambda d: d["patients"][6]["visits"][2]["clasi"], "patients[6].visits[2].clasi.colour"),
    ],
)
def test_an_unknown_key_fails_the_import(db, demo_doc, where, path):
    bad = copy.deepcopy(demo_doc)
    where(bad)["colour"] = "blue"
    with pytest.raises(DocumentError) as caught:
        import_document(bad)
    assert caught.value.path == path
    assert "unknown key" in caught.value.message
    assert Patient.objects.count() == 0 and Clinic.objects.count() == 0


def test_record_rules_are_checked_with_paths(db):
    overlap = _small_doc()
    overlap["patients"][0]["courses"].append(
        {
            "drug": "lenalidomide",
            "start": "2025-03-01",
            "doses": [{"date": "2025-03-01", "mg": 5, "every_days": 1}],
        }
    )
    with pytest.raises(
        DocumentError, match=r"^patients\[0\]\.courses\[1\]\.start: this overlaps the lenalidomide course from 2025-01-06.*\(courses\[0\]\)$"
    ):
        import_document(overlap)

    outside = _small_doc()
    course = outside["patients"][0]["courses"][0]
    course.update(end="2025-02-01", stop_reason="remission")
    course["doses"].append({"date": "2025-03-01", "mg": 5, "every_days": 2})
    with pytest.raises(
        DocumentError, match=r"^patients\[0\]\.courses\[0\]\.doses\[1\]\.date: the dose step 2025-03-01 is after the withdrawal \(2025-02-01\)$"
    ):
        import_document(outside)

    twice = _small_doc()
    twice["patients"][0]["visits"].append({"date": "2025-01-06"})
    with pytest.raises(
        DocumentError, match=r"^patients\[0\]\.visits\[2\]\.date: visits\[0\] is on the same day"
    ):
        import_document(twice)

    codes = _small_doc()
    codes["patients"].append(copy.deepcopy(codes["patients"][0]))
    with pytest.raises(DocumentError, match=r"^patients\[1\]\.code: .*patients\[0\]"):
        import_document(codes)
    assert Patient.objects.count() == 0


def test_an_existing_code_is_refused_unless_update_and_nothing_is_written(db, demo_doc):
    clinic = Clinic.objects.create(name=demo_doc["clinic"])
    Patient.objects.create(clinic=clinic, code="DEMO-15", sex="F")
    with pytest.raises(DocumentError) as caught:
        import_document(demo_doc)
    assert caught.value.path == "patients[14].code"
    assert "already has a patient" in caught.value.message
    # The 14 patients before it were not kept: one transaction.
    assert Patient.objects.count() == 1 and Visit.objects.count() == 0


def test_update_replaces_a_patients_records_without_duplicates(db):
    doc = _small_doc()
    first = import_document(doc)
    patient = Patient.objects.get(code="H-01")
    assert Visit.objects.filter(patient=patient).count() == 2

    changed = _small_doc()
    p = changed["patients"][0]
    p["name"] = "Renamed Ficticia"
    p["visits"] = [
        {"date": "2025-01-06", "clasi": {"areas": {"nose_malar": {"erythema": 3, "scale": 1}}}},
        {"date": "2025-03-03", "clasi": {"areas": {}}},
        {"date": "2025-04-07", "clasi": {"areas": {"ears": {"erythema": 1}}}},
    ]
    p["courses"][0].update(end="2025-03-03", stop_reason="remission")
    result = import_document(changed, existing="update", source="fix.json")
    assert result.updated == ["H-01"] and result.created == []

    patient.refresh_from_db()
    assert patient.name == "Renamed Ficticia" and Patient.objects.count() == 1
    dates = list(
        Visit.objects.filter(patient=patient).order_by("date").values_list("date", flat=True)
    )
    assert [d.isoformat() for d in dates] == ["2025-01-06", "2025-03-03", "2025-04-07"]
    assert Assessment.objects.filter(visit__patient=patient).count() == 3
    assert list(
        Assessment.objects.filter(visit__patient=patient)
        .order_by("visit__date")
        .values_list("activity", flat=True)
    ) == [4, 0, 1]
    assert Course.objects.filter(patient=patient).count() == 1
    assert DoseStep.objects.filter(course__patient=patient).count() == 1
    assert LabResult.objects.filter(visit__patient=patient).count() == 0
    # Exporting what was imported gives the replacement, not a mix.
    exported = export_document(first.clinic)
    assert [v["date"] for v in exported["patients"][0]["visits"]] == [
        "2025-01-06",
        "2025-03-03",
        "2025-04-07",
    ]


def test_import_writes_one_audit_entry_per_patient(db, clinician_a):
    from audit.models import AuditEntry as LogEntry

    result = import_document(_small_doc(), source="hand.json", actor=clinician_a)
    patient = Patient.objects.get(code="H-01")
    entries = LogEntry.objects.filter(additional_data__patient=str(patient.pk))
    assert entries.count() == 1
    entry = entries.get()
    assert entry.additional_data["import"] == "hand.json" and entry.actor == clinician_a
    assert entry.action == LogEntry.Action.CREATE
    assert result.visits == 2


def test_commands_export_and_import(db, tmp_path, demo_doc):
    source = tmp_path / "demo.json"
    source.write_text(json.dumps(demo_doc), encoding="utf-8")
    out = io.StringIO()
    call_command("import_cohort", str(source), stdout=out)
    assert "15 patients created" in out.getvalue()

    with pytest.raises(CommandError, match=r"already has a patient"):
        call_command("import_cohort", str(source), stdout=io.StringIO())
    call_command("import_cohort", str(source), "--update", stdout=io.StringIO())
    assert Patient.objects.count() == 15
    assert Visit.objects.count() == sum(len(p["visits"]) for p in demo_doc["patients"])

    to_file = tmp_path / "out.json"
    call_command("export_cohort", "--clinic", demo_doc["clinic"], str(to_file))
    printed = io.StringIO()
    call_command("export_cohort", "--clinic", demo_doc["clinic"], stdout=printed)
    assert printed.getvalue() == to_file.read_text(encoding="utf-8")
    with pytest.raises(CommandError, match="no clinic named"):
        call_command("export_cohort", "--clinic", "Nowhere")

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_cohort", str(broken))


def test_demo_loader_is_idempotent(db):
    from patients.demo import load_demo_cohort

    load_demo_cohort("Demo lupus clinic", stdout=io.StringIO())
    before = _counts()
    out = io.StringIO()
    load_demo_cohort("Demo lupus clinic", stdout=out)
    assert _counts() == before
    assert "already loaded" in out.getvalue()


def test_export_runs_a_fixed_number_of_queries(db, django_assert_num_queries, demo_doc):
    small = copy.deepcopy(demo_doc)
    small["patients"] = small["patients"][:2]
    small["clinic"] = "Small"
    a = import_document(small).clinic
    b = import_document(demo_doc).clinic
    # patients.snapshot: patients, courses, dose steps, interruptions, labs,
    # adverse events, visits with their examinations; the photographic consents.
    with django_assert_num_queries(8):
        export_document(a)
    with django_assert_num_queries(8):
        export_document(b)
    # With the photographs' references: one query more, whatever their number.
    with django_assert_num_queries(9):
        export_document(b, photos=True)


def test_schema_file_describes_the_instrument_exactly():
    """The downloadable schema's CLASI part must say what clinical.instruments.instrument says."""
    from patients.exchange import schema
    from clinical.instruments.clasi import CLASI

    clasi = schema()["$defs"]["clasi"]
    areas = clasi["properties"]["areas"]["properties"]
    assert list(areas) == [a.key for a in CLASI.areas]
    for area in CLASI.areas:
        cells = areas[area.key]["properties"]
        assert list(cells) == list(CLASI.applicable[area.key])
        for key, spec in cells.items():
            assert spec["enum"] == list(CLASI.item(key).values)
    for item in CLASI.exam_items:
        assert clasi["properties"][item.key]["enum"] == list(item.values)


def test_export_to_an_unwritable_path_is_a_clear_error(db, tmp_path, demo_doc):
    import_document(copy.deepcopy(demo_doc))
    with pytest.raises(CommandError, match="cannot write"):
        call_command(
            "export_cohort", "--clinic", demo_doc["clinic"], str(tmp_path / "missing" / "x.json")
        )
