"""The cohort figures (pure): KM steps, censor marks, number at risk, n per point."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from clinical.charts.cohort import (
    CENSOR_TRACE,
    MEAN_TRACE,
    RELAPSE_TRACE,
    activity_by_week_figure,
    relapse_free_figure,
)
from clinical.rules.outcomes import KaplanMeier, KMSubject, WeekActivity, _km_steps


def _km() -> KaplanMeier:
    w = dt.date(2025, 1, 1)
    subjects = [
        KMSubject("A", "a", w, 21, True),
        KMSubject("B", "b", w, 56, True),
        KMSubject("C", "c", w, 28, False),
    ]
    return KaplanMeier(tuple(subjects), _km_steps(subjects))


def test_km_figure_steps_down_at_each_relapse_and_marks_censoring():
    fig = relapse_free_figure(_km())
    curve = next(t for t in fig["data"] if t["name"] == RELAPSE_TRACE)
    assert curve["line"]["shape"] == "hv"
    assert curve["x"] == [0.0, 3.0, 4.0, 8.0]
    # 1, then 2/3 after the first relapse, unchanged at the censoring, then 0.
    assert curve["y"] == [1.0, float(Fraction(2, 3)), float(Fraction(2, 3)), 0.0]
    censor = next(t for t in fig["data"] if t["name"] == CENSOR_TRACE)
    assert censor["x"] == [4.0] and censor["y"] == [float(Fraction(2, 3))]
    at_risk = {a["x"]: a["text"] for a in fig["layout"]["annotations"] if a.get("xref") == "x"}
    assert at_risk == {0: "3", 4: "2", 8: "1"}


def test_activity_figure_labels_every_point_with_its_n():
    points = [
        WeekActivity(0, Fraction(23, 2), 4),
        WeekActivity(4, Fraction(3), 3),
        WeekActivity(8, Fraction(1, 3), 2),
    ]
    fig = activity_by_week_figure(points)
    trace = next(t for t in fig["data"] if t["name"] == MEAN_TRACE)
    assert trace["x"] == [0, 4, 8]
    assert trace["y"] == [11.5, 3.0, 0.3]
    assert trace["text"] == ["n=4", "n=3", "n=2"]


def test_empty_cohorts_say_so_instead_of_drawing_nothing():
    empty = KaplanMeier((), ())
    assert "No course" in relapse_free_figure(empty)["layout"]["annotations"][0]["text"]
    assert "No course" in activity_by_week_figure([])["layout"]["annotations"][0]["text"]
