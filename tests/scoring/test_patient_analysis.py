"""scoring.selectors.patient_analysis: the patient page's chart, flags, signals and summary."""

from __future__ import annotations

import datetime as dt

import pytest

from patients.snapshot import record_for, records_for
from patients.models import Patient
from scoring.selectors import patient_analysis
from scoring.services import acknowledge_flag
from tests.scoring.trend_factories import build_history, origin

pytestmark = pytest.mark.django_db


def test_one_reader_gives_every_page_the_same_record(clinic_a):
    # The page (one loaded patient) and the needs-attention list (a queryset)
    # read through the same function; the rules' view of both is equal.
    patient = build_history(clinic_a, "SYN-T1", n_visits=12)
    page = record_for(patient)
    listed = records_for(Patient.objects.filter(pk=patient.pk), full=False)[patient.pk]
    assert (page.courses, page.assessments, page.labs) == (
        listed.courses,
        listed.assessments,
        listed.labs,
    )


def test_analysis_runs_one_query_whatever_the_visits(clinic_a, django_assert_num_queries):
    for code, n in (("SYN-Q5", 5), ("SYN-Q60", 60)):
        patient = build_history(clinic_a, code, n_visits=n)
        record = record_for(patient)
        # The acknowledgements and the photographs per visit, nothing per visit.
        with django_assert_num_queries(2):
            patient_analysis(patient, record)


def test_a_relapse_after_withdrawal_is_flagged_with_its_signals_and_summary(clinic_a, clinician_a):
    o = origin()
    patient = build_history(clinic_a, "SYN-R", n_visits=5, o=o)
    analysis = patient_analysis(patient, record_for(patient))
    (open_flag,) = analysis["open_flags"]
    flag = open_flag.flag
    assert flag.kind == "relapse_after_complete_response"
    assert (flag.date, flag.event_date, flag.weeks_after, flag.activity) == (
        o + dt.timedelta(days=133), o + dt.timedelta(days=112), 3, 4,
    )
    assert open_flag.after_text == "3 weeks"
    assert open_flag.reference_text == "in complete response (CLASI-A 0) at the withdrawal"
    kinds = [s.kind for s in analysis["systemic_signals"]]
    assert kinds.count("complement_low") == 2 and "anti_dsdna_positive" in kinds  # C3 then C4
    # Stored as numeric(12, 4), read as the number the clinician entered.
    assert any(s.message.startswith("anti-dsDNA 30 IU/mL") for s in analysis["systemic_signals"])
    # The low ANC, once: urgent with its acknowledgement box, or listed as a signal.
    kinds = [i.kind for i in (*analysis["open_safety_items"], *analysis["safety_items"])]
    assert kinds.count("cytopenia") == 1
    first, second = analysis["course_rows"]
    assert first.summary.baseline_activity == 12 and first.summary.best_activity == 0
    assert first.summary.category_label == "Complete response"
    assert first.summary.time_to_complete_response_weeks == 6
    assert first.stop_reason_label == "Remission"
    assert first.summary.weeks_to_relapse == 3
    assert second.summary.ongoing and second.summary.baseline_activity == 10
    figure = analysis["trend_figure"]
    assert "Flare flag" in [t["name"] for t in figure["data"]]

    acknowledge_flag(patient, flag.key, "Seen; restart discussed.", clinician_a)
    analysis = patient_analysis(patient, record_for(patient))
    assert analysis["open_flags"] == []
    (history,) = analysis["acknowledged_flags"]
    assert history.acknowledgement.note == "Seen; restart discussed."
    assert "Flare flag (acknowledged)" in [t["name"] for t in analysis["trend_figure"]["data"]]


def test_a_patient_without_data_has_no_chart(patient_a):
    analysis = patient_analysis(patient_a, record_for(patient_a))
    assert analysis["trend_figure"] is None and analysis["open_flags"] == []


def test_visits_with_photographs_are_marked_on_the_trend_with_a_link(clinic_a):
    from django.urls import reverse

    from clinical.charts.trend import PHOTO_TRACE_NAME
    from tests.patients.test_query_counts import _photos

    patient = build_history(clinic_a, "SYN-PH", n_visits=6)
    visits = list(patient.visits.order_by("date"))
    _photos([visits[1]], 2)
    _photos([visits[4]], 1)
    other = build_history(clinic_a, "SYN-PH2", n_visits=3)  # another patient's photograph
    _photos([other.visits.order_by("date").first()], 5)
    analysis = patient_analysis(patient, record_for(patient))
    assert analysis["photo_marks"] == {
        visits[1].date: (2, reverse("photos:visit", args=[visits[1].pk])),
        visits[4].date: (1, reverse("photos:visit", args=[visits[4].pk])),
    }
    (marks,) = [t for t in analysis["trend_figure"]["data"] if t["name"] == PHOTO_TRACE_NAME]
    assert marks["x"] == [visits[1].date.isoformat(), visits[4].date.isoformat()]
    assert marks["text"] == ["2 photographs", "1 photograph"]
    assert marks["customdata"][0] == [f"/photos/visits/{visits[1].pk}/"]
