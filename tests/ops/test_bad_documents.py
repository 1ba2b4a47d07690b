"""Inputs that used to reach a 500 (issue 12): a 5,000-digit integer, JSON nested
990 deep, a lone surrogate; and two clinicians adding the same patient code at once.
Each is a clear message naming what is wrong, and nothing is written."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from patients.exchange import DocumentError, loads_document
from patients.models import Patient

HEAD = '{"format": "cle-tracker/1", "clinic": "Clinic A - Lupus", "patients": [{"code": "BAD-1", "sex": "F", '

HUGE_INTEGER = (
    HEAD + '"visits": [{"date": "2025-01-01", "adverse_events": [{"term": "Rash", "grade": '
    + "9" * 5000 + "}]}]}]}"
)
DEEP = HEAD + '"note": ' + "[" * 990 + "]" * 990 + "}]}"
SHALLOW_BUT_TOO_DEEP = HEAD + '"note": ' + "[" * 40 + "]" * 40 + "}]}"
LONE_SURROGATE = HEAD + '"note": "before \\ud800 after"}]}'


@pytest.mark.parametrize(
    "text, path, words",
    [
        (HUGE_INTEGER, "", "5000 digits"),
        (DEEP, "", "nested more than 32 levels"),
        (SHALLOW_BUT_TOO_DEEP, "patients[0].note[0]", "nested more than 32 levels"),
        (LONE_SURROGATE, "patients[0].note", "lone surrogate"),
    ],
)
def test_loads_document_refuses_with_a_clear_message(text, path, words):
    with pytest.raises(DocumentError) as caught:
        loads_document(text.encode())
    assert words in caught.value.message
    assert caught.value.path.startswith(path)


def test_a_surrogate_in_a_key_is_refused_too():
    with pytest.raises(DocumentError, match="lone surrogate"):
        loads_document('{"format": "cle-tracker/1", "\\udc00": 1}')


def test_a_valid_surrogate_pair_and_a_normal_document_still_load():
    doc = loads_document((HEAD + '"note": "\\ud83d\\ude00"}]}').encode())
    assert doc["patients"][0]["note"] == "\U0001f600"


@pytest.mark.django_db
@pytest.mark.parametrize("text", [HUGE_INTEGER, DEEP, LONE_SURROGATE])
def test_import_command_answers_a_command_error_and_writes_nothing(tmp_path, text, clinic_a):
    source = tmp_path / "bad.json"
    source.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_cohort", str(source))
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_the_same_code_added_at_the_same_moment_is_a_field_message(clinic_a):
    """The race: both clinicians' code checks pass, then the second INSERT meets the
    unique constraint. Simulated by letting the check miss the first patient."""
    from patients.services import create_patient

    Patient.objects.create(clinic=clinic_a, code="RACE-1", sex="F")
    with mock.patch("patients.services._check_patient"):
        with pytest.raises(ValidationError) as caught:
            create_patient(clinic_a, code="RACE-1", sex="F", name="Second")
    assert "RACE-1" in caught.value.message_dict["code"][0]
    assert Patient.objects.filter(code="RACE-1").count() == 1


@pytest.mark.django_db
def test_the_race_on_the_page_shows_the_message_next_to_the_code(client_a, clinic_a):
    from django.urls import reverse

    Patient.objects.create(clinic=clinic_a, code="RACE-2", sex="F")
    with mock.patch("patients.services._check_patient"):
        response = client_a.post(
            reverse("patients:create"), {"clinic": clinic_a.pk, "code": "RACE-2", "sex": "F"}
        )
    assert response.status_code in (200, 400)
    assert "was just added with the code RACE-2" in response.content.decode()
    assert Patient.objects.filter(code="RACE-2").count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        (HEAD + '"note": "a\xed\xa0\x80b"}]}').encode("latin-1"),  # an encoded surrogate
        (HEAD + '"note": "ab"}]}').encode("utf-16"),
    ],
)
def test_bytes_that_are_not_strict_utf8_are_refused(raw):
    with pytest.raises(DocumentError, match="not UTF-8"):
        loads_document(raw)
