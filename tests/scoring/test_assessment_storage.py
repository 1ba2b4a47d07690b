"""Storing an exam and reading it back gives the same exam and the same scores,
and the stored totals are always those of the stored items."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.extra.django import TestCase

from patients.models import Patient, Visit
from clinical.instruments.exam import parse_exam, score
from scoring.models import Assessment
from scoring.services import save_assessment
from tests.clinical.test_clasi_properties import exam_dicts


class StoreAndReload(TestCase):
    @classmethod
    def setUpTestData(cls):
        from clinic.models import Clinic

        clinic = Clinic.objects.create(name="Storage clinic")
        patient = Patient.objects.create(clinic=clinic, code="ST-1", sex="F")
        cls.visit = Visit.objects.create(patient=patient, date=dt.date(2025, 1, 1))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(exam_dicts())
    def test_round_trip(self, data):
        exam = parse_exam(data)
        save_assessment(self.visit, exam)
        stored = Assessment.objects.get(visit=self.visit)
        reloaded = parse_exam(stored.items)
        expected = score(exam)
        assert reloaded == exam
        assert (stored.activity, stored.damage, stored.severity) == (
            expected.activity, expected.damage, expected.severity,
        )
        assert stored.activity_parts == dict(expected.activity_parts)
        assert stored.damage_parts == dict(expected.damage_parts)
        assert score(reloaded) == expected


@pytest.mark.django_db
def test_saving_again_rescores_in_place(patient_a):
    visit = Visit.objects.create(patient=patient_a, date=dt.date(2025, 1, 1))
    save_assessment(visit, parse_exam({"areas": {"ears": {"erythema": 3}}}))
    save_assessment(visit, parse_exam({"areas": {"ears": {"erythema": 1, "scale": 2}}}))
    stored = Assessment.objects.get(visit=visit)
    assert (stored.activity, stored.instrument, stored.version) == (3, "CLASI", "2005")
    assert stored.items["areas"]["ears"] == {"erythema": 1, "scale": 2, "dyspigmentation": 0, "scarring": 0}
