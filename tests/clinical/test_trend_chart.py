"""clinical.charts.trend.trend_figure: what a clinician must be able to read off the chart."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from clinical.charts.trend import (
    ACK_FLAG_TRACE_NAME,
    FLAG_TRACE_NAME,
    PHOTO_TRACE_NAME,
    trend_figure,
)
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
    # Four rows (CLASI, dose, other treatments, labs) on one time axis: zooming one zooms all.
    layout = figure["layout"]
    assert layout["xaxis"]["matches"] == layout["xaxis2"]["matches"] == layout["xaxis3"]["matches"] == "x4"
    c3 = next(t for t in figure["data"] if t["name"].startswith("C3"))
    assert c3["xaxis"] == "x4" and c3["yaxis"] == "y4"


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
    assert len(doses) == 2 and doses[0]["line"]["shape"] == "hv"
    assert (doses[0]["xaxis"], doses[0]["yaxis"]) == ("x2", "y2")  # the dose lane
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
    # "zoom" and "narrow" are the page's (static/js/charts.js), beside the figure.
    import plotly.graph_objects as go

    t = timeline()
    (flag,) = find_flags(t)
    photos = {D(2024, 5, 20): (2, "/photos/visits/v2/")}
    for figure in (
        fig(),
        fig(photos=photos),
        trend_figure(t, [flag], acknowledged={flag.key}),
        trend_figure(PatientRecord("E")),
    ):
        validated = go.Figure({"data": figure["data"], "layout": figure["layout"]})
        assert len(validated.data) == len(figure["data"])
        assert validated.layout.yaxis4.type in ("log", None)
        assert set(figure) == {"data", "layout", "zoom", "narrow"}


def test_the_time_axis_spans_the_record_with_a_margin_not_to_today():
    # First entry 2024-01-05 (a visit), last 2024-09-01 (the second course's start
    # and a visit): 240 days, padded by max(7, 3% = 7) days each side. Today
    # (2024-10-01) is not an entry: a record that stopped fills the width.
    layout = fig()["layout"]
    for axis in ("xaxis", "xaxis2", "xaxis3", "xaxis4"):
        assert layout[axis]["range"] == ["2023-12-29", "2024-09-08"], axis


def test_a_long_record_is_padded_by_three_percent():
    # 2022-01-03 .. 2024-01-01 (728 days): 3% is 21.84, so 22 days each side.
    t = PatientRecord("L", assessments=(
        Assessment("a", D(2022, 1, 3), 10, 0), Assessment("b", D(2024, 1, 1), 4, 0),
    ))
    assert trend_figure(t, today=D(2026, 1, 1))["layout"]["xaxis4"]["range"] == [
        "2021-12-12", "2024-01-23",
    ]


def test_zoom_buttons_offer_the_last_12_and_6_months_of_the_record():
    # 2022-01-03 .. 2024-01-01: both spans fit inside the record.
    t = PatientRecord("L", assessments=(
        Assessment("a", D(2022, 1, 3), 10, 0), Assessment("b", D(2024, 1, 1), 4, 0),
    ))
    zoom = trend_figure(t)["zoom"]
    assert [(z["label"], z["range"]) for z in zoom] == [
        ("Whole record", ["2021-12-12", "2024-01-23"]),
        ("Last 12 months", ["2023-01-01", "2024-01-23"]),
        ("Last 6 months", ["2023-07-01", "2024-01-23"]),
    ]
    # 240 days: twelve months would be the whole record again, so only six are offered.
    assert [z["label"] for z in fig()["zoom"]] == ["Whole record", "Last 6 months"]
    assert fig()["zoom"][1]["range"] == ["2024-03-01", "2024-09-08"]
    # Shorter than six months: nothing to switch between.
    short = PatientRecord("S", assessments=(
        Assessment("a", D(2024, 1, 1), 3, 0), Assessment("b", D(2024, 4, 1), 2, 0),
    ))
    assert trend_figure(short)["zoom"] == []


def test_six_months_before_the_31st_of_august_is_the_29th_of_february():
    t = PatientRecord("M", assessments=(
        Assessment("a", D(2023, 1, 2), 10, 0), Assessment("b", D(2024, 8, 31), 4, 0),
    ))
    spans = {z["label"]: z["range"][0] for z in trend_figure(t)["zoom"]}
    # 607 days: 3% is 18.2, so 18 days before 2023-01-02.
    assert spans == {"Whole record": "2022-12-15", "Last 12 months": "2023-08-31",
                     "Last 6 months": "2024-02-29"}


def test_the_dose_has_its_own_lane_apart_from_the_clasi_panel():
    layout = fig()["layout"]
    clasi_low, clasi_high = layout["yaxis"]["domain"]
    dose_low, dose_high = layout["yaxis2"]["domain"]
    lane_low, lane_high = layout["yaxis3"]["domain"]
    labs_low, labs_high = layout["yaxis4"]["domain"]
    # Top to bottom, no two strips overlapping: a dose label cannot reach the CLASI line.
    assert labs_high < lane_low < lane_high < dose_low < dose_high < clasi_low < clasi_high
    assert "overlaying" not in layout["yaxis2"]
    # Every dose trace in the lane, every CLASI trace in the CLASI panel.
    for trace in fig()["data"]:
        if trace["name"].endswith("mg/day"):
            assert trace["yaxis"] == "y2"
        if trace["name"].startswith("CLASI"):
            assert trace["yaxis"] == "y"
    # Round ticks and room above the top step for its label: 10 mg/day -> 0..20.
    assert layout["yaxis2"]["range"][1] == 20 and layout["yaxis2"]["dtick"] == 10


def test_visits_with_photographs_are_marked_and_link_to_their_photographs():
    photos = {D(2024, 5, 20): (2, "/photos/visits/v2/"), D(2024, 1, 5): (1, "/photos/visits/v0/")}
    figure = fig(photos=photos)
    marks = trace(figure, PHOTO_TRACE_NAME)
    assert marks["x"] == ["2024-01-05", "2024-05-20"]  # in date order
    assert marks["text"] == ["1 photograph", "2 photographs"]
    assert marks["customdata"] == [["/photos/visits/v0/"], ["/photos/visits/v2/"]]
    assert marks["meta"] == "link"  # static/js/charts.js opens customdata[0] on a click
    # In a strip under CLASI 0, inside the panel's range: no score hides a marker.
    low = figure["layout"]["yaxis"]["range"][0]
    assert all(low < y < 0 for y in marks["y"])
    # Without photographs: no marker trace and the panel starts at 0.
    plain = fig()
    assert PHOTO_TRACE_NAME not in [d["name"] for d in plain["data"]]
    assert plain["layout"]["yaxis"]["range"][0] == 0


def test_a_photograph_outside_the_other_entries_still_widens_the_axis():
    # A photographed visit is an entry of the record like any other.
    figure = fig(photos={D(2024, 12, 2): (1, "/photos/visits/v9/")})
    assert figure["layout"]["xaxis"]["range"][1] > "2024-12-02"


def test_on_a_phone_fewer_ticks_legend_below_and_no_severity_words():
    figure = fig()
    narrow = figure["narrow"]
    assert narrow["max_width"] < 768 and narrow["layout"]["xaxis4.nticks"] <= 5
    assert figure["layout"]["legend"]["orientation"] == "h" and figure["layout"]["legend"]["y"] < 0
    hidden = [k for k, v in narrow["layout"].items() if k.startswith("annotations[") and v is False]
    texts = sorted(
        figure["layout"]["annotations"][int(k[len("annotations["):k.index("]")])]["text"] for k in hidden
    )
    assert texts == ["mild ≤ 9", "moderate 10–20", "severe ≥ 21"]


def test_a_late_withdrawal_label_reads_leftwards_inside_the_plot():
    # Withdrawal on 2024-06-01 in a record to 2024-06-22: in its last third.
    t = PatientRecord("W", (Course("c1", D(2024, 1, 10), D(2024, 6, 1), "remission",
                                   (DoseStep(D(2024, 1, 10), Decimal("10")),)),),
                      (Assessment("v0", D(2024, 1, 5), 12, 3), Assessment("v1", D(2024, 6, 22), 2, 3)))
    (label,) = [a for a in trend_figure(t)["layout"]["annotations"] if a["text"].startswith("Withdrawal")]
    assert label["xanchor"] == "right"
    (early,) = [a for a in fig()["layout"]["annotations"] if a["text"].startswith("Withdrawal")]
    assert early["xanchor"] == "left"


def test_without_labs_the_date_axis_still_spans_the_record():
    # Seen in a screenshot: with no lab trace plotly dropped the lower panel, its
    # shared date axis fell back to its default range (2000) and lost its labels.
    t = PatientRecord(
        "S",
        courses=(Course("c1", D(2025, 1, 6), None, None, (DoseStep(D(2025, 1, 6), Decimal(5)),)),),
        assessments=(Assessment("v1", D(2025, 1, 6), 10, 0), Assessment("v2", D(2025, 2, 3), 9, 0)),
    )
    figure = trend_figure(t, today=D(2026, 11, 24))
    # 2025-01-06 .. 2025-02-03, a week each side; the running course does not pull it to today.
    assert figure["layout"]["xaxis2"]["range"] == figure["layout"]["xaxis"]["range"] == [
        "2024-12-30", "2025-02-10",
    ]
    assert any(trace.get("xaxis") == "x4" for trace in figure["data"])
    # The empty other-treatments lane keeps its axes too, so its note is drawn.
    assert any(trace.get("yaxis") == "y3" for trace in figure["data"])
