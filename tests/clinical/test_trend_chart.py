"""clinical.charts.trend.trend_figure: what a clinician must be able to read off the chart."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from clinical.charts.trend import ACK_FLAG_TRACE_NAME, FLAG_TRACE_NAME, trend_figure
from clinical.rules.flares import find_flags
from clinical.record import Assessment, Course, DoseStep, Lab, PatientRecord

D = dt.date
START, END = D(2024, 1, 10), D(2024, 6, 1)


def timeline(**extra) -> PatientRecord:
    first = Course(
        "c1", START, END, "remission",
        (DoseStep(START, Decimal("10")), DoseStep(D(2024, 3, 1), Decimal("10"), 2)),
    )
    second = Course("c2", D(2024, 9, 1), None, None, (DoseStep(D(2024, 9, 1), Decimal("5")),))
    visits = (
        Assessment("v0", D(2024, 1, 5), 12, 3),
        Assessment("v1", D(2024, 2, 10), 8, 3),
        Assessment("v2", D(2024, 5, 20), 0, 4),
        Assessment("v3", D(2024, 6, 22), 6, 4),  # 3 weeks after withdrawal: relapse after CR
        Assessment("v4", D(2024, 9, 1), 8, 4),
    )
    labs = (
        Lab(D(2024, 1, 5), "c3", Decimal("0.72"), "g/L"),
        Lab(D(2024, 1, 5), "anti_dsdna", Decimal("25"), "IU/mL"),
        Lab(D(2024, 2, 10), "anc", Decimal("0.8"), "x10^9/L"),
        Lab(D(2024, 2, 10), "c4", Decimal("25"), "mg/dL"),  # 0.25 g/L: converted, within range
        Lab(D(2024, 2, 10), "wbc", Decimal("5"), "10^9/L"),  # not charted at all
        Lab(D(2024, 2, 11), "c3", Decimal("70"), "mg/L"),  # a stored unit off the list
    )
    return PatientRecord("P", (first, second), visits, labs, **extra)


def fig(t=None, **kwargs):
    t = t or timeline()
    return trend_figure(t, find_flags(t), today=D(2024, 10, 1), **kwargs)


def trace(figure, name):
    return next(d for d in figure["data"] if d.get("name") == name)


def test_the_figure_is_plain_json():
    assert json.loads(json.dumps(fig()))["layout"]["xaxis"]["type"] == "date"


def test_clasi_a_and_d_share_the_time_axis_with_the_labs():
    figure = fig()
    a = trace(figure, "CLASI-A (activity)")
    d = trace(figure, "CLASI-D (damage)")
    assert a["y"] == [12, 8, 0, 6, 8] and d["y"] == [3, 3, 4, 4, 4]
    assert a["x"][0] == "2024-01-05"
    # Three rows (CLASI, other treatments, labs) on one time axis: zooming one zooms all.
    assert figure["layout"]["xaxis"]["matches"] == figure["layout"]["xaxis2"]["matches"] == "x3"
    c3 = next(t for t in figure["data"] if t["name"].startswith("C3"))
    assert c3["xaxis"] == "x3" and c3["yaxis"] == "y4"


def test_hover_gives_dose_in_force_and_response_against_the_course_baseline():
    custom = trace(fig(), "CLASI-A (activity)")["customdata"]
    assert custom[0] == [3, "none", "baseline of the lenalidomide course from 2024-01-10"]
    assert custom[1] == [3, "Lenalidomide 10 mg daily", "Improved (baseline 12)"]  # 4 points: the MCID, not 50%
    assert custom[2] == [4, "Lenalidomide 10 mg alternate days", "Complete response (baseline 12)"]
    assert custom[3] == [4, "none", "off treatment"]
    assert custom[4][2] == "baseline of the lenalidomide course from 2024-09-01"


def test_every_course_is_a_labelled_band_and_withdrawals_are_dashed_lines():
    layout = fig()["layout"]
    bands = [s for s in layout["shapes"] if s.get("name", "").startswith("course band")]
    assert [(b["x0"], b["x1"]) for b in bands] == [
        ("2024-01-10", "2024-06-01"),
        ("2024-09-01", "2024-10-01"),  # a running course reaches today
    ]
    assert all(b["yref"] == "paper" and b["type"] == "rect" for b in bands)
    labels = [a["text"] for a in layout["annotations"]]
    assert "<b>Lenalidomide</b>" in labels and "<b>Lenalidomide</b> (running)" in labels
    (line,) = [s for s in layout["shapes"] if s.get("name") == "withdrawal"]
    assert line["x0"] == line["x1"] == "2024-06-01" and line["line"]["dash"] == "dash"
    assert "Withdrawal (remission)" in labels


def test_dose_steps_are_a_step_line_labelled_mg_and_interval():
    figure = fig()
    doses = [d for d in figure["data"] if d["name"] == "Lenalidomide mg/day"]
    assert len(doses) == 2 and doses[0]["line"]["shape"] == "hv" and doses[0]["yaxis"] == "y2"
    assert doses[0]["text"][:2] == ["10 mg daily", "10 mg alternate days"]
    assert doses[0]["y"][:2] == [10.0, 5.0]  # mg per day: the taper is visible as a step down
    assert doses[0]["x"][-1] == "2024-06-01"  # carried to the withdrawal


def test_severity_limits_9_and_20_are_guides():
    layout = fig()["layout"]
    guides = [s for s in layout["shapes"] if s.get("name", "").startswith("severity limit")]
    assert sorted(g["y0"] for g in guides) == [9, 20]
    texts = {a["text"] for a in layout["annotations"]}
    assert {"mild ≤ 9", "moderate 10–20", "severe ≥ 21"} <= texts


def test_flagged_visits_are_red_diamonds_and_acknowledged_ones_open():
    t = timeline()
    (flag,) = find_flags(t)
    flagged = trace(trend_figure(t, [flag], today=D(2024, 10, 1)), FLAG_TRACE_NAME)
    assert flagged["x"] == ["2024-06-22"] and flagged["y"] == [6]
    assert flagged["marker"]["symbol"] == "diamond"
    assert "3 weeks after withdrawal" in flagged["text"][0]
    acked = trend_figure(t, [flag], acknowledged={flag.key}, today=D(2024, 10, 1))
    assert FLAG_TRACE_NAME not in [d["name"] for d in acked["data"]]
    assert trace(acked, ACK_FLAG_TRACE_NAME)["marker"]["symbol"] == "diamond-open"


def test_labs_are_multiples_of_their_limit_and_unknown_units_are_not_converted():
    figure = fig()
    c3 = next(t for t in figure["data"] if t["name"].startswith("C3"))
    assert c3["name"] == "C3 (÷ lower limit 0.9 g/L)"
    assert abs(c3["y"][0] - 0.8) < 1e-9  # 0.72 / 0.9
    assert c3["marker"]["symbol"] == ["circle"]  # below range: filled
    assert "below range" in c3["text"][0] and "0.72 g/L" in c3["text"][0]
    dsdna = next(t for t in figure["data"] if t["name"].startswith("anti-dsDNA"))
    assert dsdna["y"] == [2.5] and "above range" in dsdna["text"][0]
    anc = next(t for t in figure["data"] if t["name"].startswith("ANC"))
    assert anc["y"] == [0.8]
    c4 = next(t for t in figure["data"] if t["name"].startswith("C4"))
    assert abs(c4["y"][0] - 2.5) < 1e-9  # 25 mg/dL = 0.25 g/L, / 0.1
    assert "25 mg/dL (= 0.25 g/L)" in c4["text"][0] and "within range" in c4["text"][0]
    assert len(c3["y"]) == 1  # the mg/L value is not converted
    texts = [a["text"] for a in figure["layout"]["annotations"]]
    assert "1 lab value in another unit not charted" in texts
    assert figure["layout"]["yaxis4"]["type"] == "log"
    (limit,) = [s for s in figure["layout"]["shapes"] if s.get("name") == "reference limit"]
    assert limit["y0"] == limit["y1"] == 1


def test_no_labs_says_so():
    bare = PatientRecord("P", (), (Assessment("v", D(2024, 1, 1), 3, 0),))
    texts = [a["text"] for a in trend_figure(bare)["layout"]["annotations"]]
    assert any(t.startswith("No anti-dsDNA") for t in texts)


def test_plotly_accepts_every_property_of_the_figure():
    # The figure is built from plain dicts for speed; plotly's own validator
    # (which raises on any unknown property or bad value) checks it here.
    import plotly.graph_objects as go

    t = timeline()
    (flag,) = find_flags(t)
    for figure in (fig(), trend_figure(t, [flag], acknowledged={flag.key}), trend_figure(PatientRecord("E"))):
        validated = go.Figure(figure)
        assert len(validated.data) == len(figure["data"])
        assert validated.layout.yaxis4.type in ("log", None)


def test_without_labs_the_date_axis_still_spans_the_record_up_to_today():
    # Seen in a screenshot: with no lab trace plotly dropped the lower panel, its
    # shared date axis fell back to its default range (2000) and lost its labels.
    t = PatientRecord(
        "S",
        courses=(Course("c1", D(2025, 1, 6), None, None, (DoseStep(D(2025, 1, 6), Decimal(5)),)),),
        assessments=(Assessment("v1", D(2025, 1, 6), 10, 0), Assessment("v2", D(2025, 2, 3), 9, 0)),
    )
    figure = trend_figure(t, today=D(2026, 11, 24))
    start, end = figure["layout"]["xaxis2"]["range"]
    assert figure["layout"]["xaxis"]["range"] == [start, end]
    assert "2024-12-01" < start < "2025-01-06"
    assert end >= "2026-11-24"
    assert any(trace.get("xaxis") == "x3" for trace in figure["data"])
