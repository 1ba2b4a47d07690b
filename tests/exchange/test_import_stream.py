"""The import reads JSON text one patient at a time (issue 13): the same record and
the same first error as the decoded document, members in any order, a bounded window."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest

from patients.exchange import DocumentError, export_document, import_document, loads_document
from patients.exchange import stream
from patients.models import Patient, Visit

DEMO = Path(__file__).resolve().parents[2] / "patients" / "demo_cohort.json"


@pytest.fixture
def demo_text() -> str:
    return DEMO.read_text(encoding="utf-8")


def _record(clinic) -> dict:
    exported = export_document(clinic)
    exported.pop("exported_at", None)
    return exported


@pytest.mark.django_db
def test_text_and_decoded_document_write_the_same_record(demo_text):
    from django.db import transaction

    with transaction.atomic():
        decoded = import_document(json.loads(demo_text))
        expected = _record(decoded.clinic)
        transaction.set_rollback(True)
    streamed = import_document(io.BytesIO(demo_text.encode()))
    assert streamed.summary() == decoded.summary()
    assert _record(streamed.clinic) == expected
    assert len(streamed.patient_ids) == Patient.objects.count() == len(json.loads(demo_text)["patients"])


@pytest.mark.django_db
def test_clinic_and_format_after_the_patients_are_read_ahead(demo_text):
    doc = json.loads(demo_text)
    reordered = {"patients": doc["patients"], "clinic": doc["clinic"], "format": doc["format"]}
    result = import_document(json.dumps(reordered).encode())
    assert result.clinic.name == doc["clinic"]
    assert Visit.objects.count() == sum(len(p["visits"]) for p in doc["patients"])


@pytest.mark.django_db
def test_the_first_error_in_document_order_wins_and_nothing_is_written(demo_text):
    doc = json.loads(demo_text)
    bad = copy.deepcopy(doc)
    bad["patients"][3]["visits"][2]["clasi"] = {"areas": {"ears": {"erythema": 5}}}
    bad["patients"][5]["sex"] = "X"
    for data in (bad, json.dumps(bad).encode()):
        with pytest.raises(DocumentError) as caught:
            import_document(data)
        assert str(caught.value) == (
            "patients[3].visits[2].clasi.areas.ears.erythema: 5 is not one of 0, 1, 2, 3"
        )
    assert not Patient.objects.exists()
    # A problem in a member AFTER the patients is found after they are all checked,
    # and still writes nothing, though the patients were fine.
    late = {"format": doc["format"], "patients": doc["patients"], "clinic": 7}
    with pytest.raises(DocumentError) as caught:
        import_document(json.dumps(late).encode())
    assert caught.value.path == "clinic"
    assert not Patient.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text, words",
    [
        ('{"format": "cle-tracker/2",\n "clinic": "A", "patients": [{"code": "X", "sex": "F"},,]}', "line 2, column"),
        ('{"format": "cle-tracker/2", "clinic": "A", "patients": []} extra', "Extra data"),
        ('{"format": "cle-tracker/2", "clinic": "A", "patients": [', "Expecting value"),
    ],
)
def test_text_that_is_not_json_says_where_like_json_loads(text, words):
    with pytest.raises(DocumentError) as caught:
        import_document(text.encode())
    assert words in caught.value.message and caught.value.message.startswith("not valid JSON")
    try:
        loads_document(text.encode())
    except DocumentError as whole:
        # The same message as decoding the whole text at once.
        assert whole.message == caught.value.message


def test_the_window_holds_a_bounded_part_of_a_long_text(monkeypatch):
    """With a 4 KB chunk, a document of ~2,000 items is read without ever holding
    more than a few chunks: memory does not grow with the document."""
    monkeypatch.setattr(stream, "CHUNK", 4096)
    items = [{"code": f"P{i:05d}", "note": "x" * 200} for i in range(2000)]
    text = json.dumps({"format": "f", "clinic": "c", "patients": items}).encode()
    window = stream.Window(text, int)
    largest = 0
    seen = []
    for kind, key, value in stream.members(window):
        largest = max(largest, len(window.buf))
        if kind == stream.PATIENT:
            seen.append(value["code"])
    assert seen == [item["code"] for item in items]
    assert len(text) > 400_000 and largest < 4 * 4096
