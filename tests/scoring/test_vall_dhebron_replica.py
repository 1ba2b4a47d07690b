"""The replica of the 2012 series reproduces the paper's headline figures.

The replica (tests/fixtures/vall_dhebron_2012.py) is built from the paper's
published numbers; imported and reported like any clinic, it must give 12 of
14 patients in complete response, 75% relapse after withdrawal and relapses
2-8 weeks after it. The keys the outcome report does not carry yet (per
patient counts, known outcomes, week 2) join this test with them.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from patients.exchange import import_document
from tests.fixtures.vall_dhebron_2012 import CLINIC, HEADLINE, SECTIONS, document

# The report's keys today; the next outcome keys extend this tuple.
REPORTED = (
    "patients",
    "courses",
    "evaluable_courses",
    "stopped_for_adverse_event",
    "improved",
    "complete_response",
    "partial_response",
    "withdrawn_in_complete_response",
    "followed_after_withdrawal_in_cr",
    "relapsed_after_withdrawal",
    "relapse_rate",
    "weeks_to_relapse",
    "mean_baseline_activity",
    "patients_evaluable",
    "patients_complete_response",
    "patient_complete_response_rate",
)


@pytest.fixture
def replica_report(db) -> dict:
    import_document(document())
    out = io.StringIO()
    call_command("cohort_report", "--clinic", CLINIC, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def test_the_replica_reproduces_the_papers_headline_figures(replica_report):
    assert {k: replica_report[k] for k in REPORTED} == {k: HEADLINE[k] for k in REPORTED}


def test_twelve_of_fourteen_cleared_and_relapses_came_two_to_eight_weeks_after(replica_report):
    assert replica_report["complete_response"] == 12
    assert replica_report["evaluable_courses"] == 14
    assert replica_report["relapse_rate"] == 0.75
    weeks = [f["weeks_after"] for f in replica_report["flags"]]
    assert len(weeks) == 9 and min(weeks) == 2 and max(weeks) == 8


def test_twelve_of_fourteen_patients_cleared_and_clasi_a_fell_from_11_to_about_4_in_2_weeks(
    replica_report,
):
    assert replica_report["patients_complete_response"] == 12
    assert replica_report["patients_evaluable"] == 14
    assert replica_report["patient_complete_response_rate"] == 0.857
    weeks = replica_report["mean_activity_by_week"]
    assert weeks["0"] == {"mean": 11.0, "n": 14}
    assert weeks["2"] == {"mean": HEADLINE["week_2_mean_activity"], "n": 14}


def test_the_replica_gives_the_papers_other_sections(replica_report):
    assert {k: replica_report[k] for k in SECTIONS} == SECTIONS
