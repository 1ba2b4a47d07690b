"""Plotly figures from timelines (pure: no Django import).

`trend_figure` answers the clinician's question before tapering or stopping
lenalidomide: "how has the skin moved against the drug, and is a flare
starting?". Four rows share one time axis, which spans the record (first to
last entry, with a margin), never stretched to today:

- CLASI: CLASI-A and CLASI-D, every course as a shaded band labelled with the
  drug, withdrawals as dashed verticals, flagged visits as red diamonds
  ("Flare flag"), the severity limits 9 and 20 as dotted guides, and under
  CLASI 0 a strip of green squares for the visits with photographs (a click
  opens them);
- dose: the watched drug's dose in force as a step line (mg/day) with each
  step labelled "10 mg alternate days", in a lane of its own so no label
  crosses the CLASI line;
- other treatments: one bar per drug, hatched while on hold;
- labs: anti-dsDNA, C3, C4, ANC and platelets, each as a MULTIPLE OF ITS
  LIMIT on a log axis. The five tests have four units and scales from 0.1 g/L
  to 400 x10^9/L; five y axes are unreadable on a tablet. Dividing each value
  by the limit a clinician judges it by (anti-dsDNA by its upper limit, C3,
  C4, ANC and platelets by their lower limits) puts every limit on the one
  line "1 x limit", so "is anything out of range?" is read off one line;
  out-of-range points are filled and larger, and the hover gives the value as
  entered, its canonical value and the range. Values are compared in the
  canonical unit (clinical.labs); a stored value whose unit is off the test's
  list is left off and counted in a note.

The figure is returned as a plain JSON-able dict ({"data": ..., "layout": ...,
"zoom": ..., "narrow": ...}) that travels to the page through `json_script` and
is drawn by static/js/charts.js: "zoom" lists the time spans its buttons offer
(the whole record, the last 12 and 6 months), "narrow" the layout changes for a
phone (fewer ticks, thin margins, no severity words).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from plotly.subplots import make_subplots

from clinical.rules.flares import Flag, events
from clinical.rules.response import CATEGORY_LABELS, baseline_bound, course_baseline, interpret
from clinical.rules.signals import REFERENCE_RANGES, SAFETY_LIMITS, ReferenceRange
from clinical.record import (
    Assessment,
    Course,
    PatientRecord,
    Thresholds,
    format_mg,
    shift,
    treatments_text,
)

__all__ = [
    "FLAG_TRACE_NAME",
    "ACK_FLAG_TRACE_NAME",
    "PHOTO_TRACE_NAME",
    "LAB_SERIES",
    "SEVERITY_LIMITS",
    "trend_figure",
    "dose_in_force",
    "response_label",
]

FLAG_TRACE_NAME = "Flare flag"
ACK_FLAG_TRACE_NAME = "Flare flag (acknowledged)"
SEVERITY_LIMITS = (9, 20)  # mild 0-9, moderate 10-20, severe 21-70 (Klein 2011)
COURSE_BAND_NAME = "course band"  # shapes' `name`, so a test or a script can find them
WITHDRAWAL_LINE_NAME = "withdrawal"

# (test, label, colour, which limit the value is divided by)
LAB_SERIES: tuple[tuple[str, str, str, str], ...] = (
    ("anti_dsdna", "anti-dsDNA", "#7b3294", "high"),
    ("c3", "C3", "#1b7837", "low"),
    ("c4", "C4", "#5aae61", "low"),
    ("anc", "ANC", "#d95f02", "low"),
    ("platelets", "Platelets", "#a6761d", "low"),
)

# Where each panel's traces go: (x axis, y axis) in the four-row layout below.
_CLASI_AXES = ("x", "y")
_DOSE_AXES = ("x2", "y2")  # the dose lane: its own strip, so no label crosses the CLASI line
_LANE_AXES = ("x3", "y3")  # the lane of the treatments not watched for flares
_LAB_AXES = ("x4", "y4")
_X_AXES = ("xaxis", "xaxis2", "xaxis3", "xaxis4")
_HOLD_PATTERN = {"shape": "/", "fgcolor": "#8a94a6", "bgcolor": "rgba(255,255,255,0.6)", "size": 8}
_LANE_COLOUR = "#4f7f63"
HOLD_TRACE_NAME = "On hold"


@functools.lru_cache(maxsize=1)
def _skeleton() -> str:
    """The four-row layout with shared x axes, built once by plotly's make_subplots:
    CLASI, the dose of the watched drugs, the other treatments, the labs.

    Traces, shapes and annotations are then plain dicts: plotly's Python-side
    validation of 200-point traces cost ~40 ms a page; tests validate the
    whole figure with plotly.graph_objects.Figure instead.
    """
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.035,
        row_heights=[0.47, 0.13, 0.11, 0.29],
    )
    return json.dumps(fig.to_plotly_json()["layout"])


def _scatter(axes: tuple[str, str] = _CLASI_AXES, **props: Any) -> dict[str, Any]:
    return {"type": "scatter", "xaxis": axes[0], "yaxis": axes[1], **props}


_ACTIVITY_COLOUR = "#1f5fae"
_DAMAGE_COLOUR = "#6b7280"
_DOSE_COLOUR = "#b07aa1"
_BAND_FILL = "rgba(31, 95, 174, 0.09)"
_FLAG_COLOUR = "#c0392b"


def _iso(day: dt.date) -> str:
    return day.isoformat()


def dose_in_force(timeline: PatientRecord, day: dt.date) -> tuple[Course | None, str]:
    """The watched course in force on `day` and what was taken that day, every drug
    ("Lenalidomide 10 mg daily; Hydroxychloroquine 200 mg daily")."""
    return timeline.course_on(day), treatments_text(timeline.treatments_on(day))


def response_label(
    timeline: PatientRecord,
    assessment: Assessment,
    thresholds: Thresholds,
    baselines: dict[str, Assessment | None] | None = None,
) -> str:
    """The visit's response category against the baseline of the course it belongs to.

    On treatment (clasi.md section 2: after the start, up to the withdrawal)
    the category vs that course's baseline; the visit chosen as a course's
    baseline says so; any other visit is off treatment.
    """
    if baselines is None:
        baselines = _baselines(timeline, timeline.assessments, thresholds)
    for course in timeline.watched_courses:
        baseline = baselines[course.id]
        if baseline == assessment:
            return f"baseline of the {course.label.lower()} course from {_iso(course.start)}"
        if course.start < assessment.date and course.in_force(assessment.date):
            if baseline is None:
                return "no baseline for this course"
            result = interpret(baseline.activity, assessment.activity, thresholds)
            return f"{CATEGORY_LABELS[result.category]} (baseline {baseline.activity})"
    return "off treatment"


def _baselines(
    timeline: PatientRecord, assessments: Sequence[Assessment], thresholds: Thresholds
) -> dict[str, Assessment | None]:
    """The baseline of every watched course (never from an earlier watched course)."""
    return {
        c.id: course_baseline(c, assessments, thresholds, baseline_bound(timeline, c))
        for c in timeline.watched_courses
    }


def _limit_of(test: str, side: str) -> tuple[ReferenceRange, Decimal] | None:
    for reference in (*REFERENCE_RANGES, *SAFETY_LIMITS):
        if reference.test == test:
            limit = reference.high if side == "high" else reference.low
            if limit is not None and limit > 0:
                return reference, limit
    return None


def _lab_traces(timeline: PatientRecord) -> tuple[list[dict[str, Any]], int]:
    """One trace per test: value / limit; returns the traces and how many values were left off."""
    traces = []
    skipped = 0
    for test, label, colour, side in LAB_SERIES:
        xs: list[str] = []
        ys: list[float] = []
        texts: list[str] = []
        sizes: list[int] = []
        symbols: list[str] = []
        limit_text = ""
        for lab in timeline.labs:
            if lab.test != test:
                continue
            number = lab.canonical  # None for a stored unit off the test's list
            found = _limit_of(test, side)
            if number is None or found is None or number <= 0:
                # Unit off the list: never guessed. Zero or negative: no place on a log axis.
                skipped += 1
                continue
            reference, limit = found
            out = reference.above(number) if side == "high" else reference.below(number)
            limit_text = f"{'upper' if side == 'high' else 'lower'} limit {limit} {reference.unit}"
            xs.append(_iso(lab.date))
            ys.append(float(number / limit))
            sizes.append(11 if out else 7)
            symbols.append("circle" if out else "circle-open")
            state = ("above" if side == "high" else "below") + " range" if out else "within range"
            shown = f"{label} {format_mg(lab.value)} {lab.unit}"
            if lab.unit != reference.unit:
                shown += f" (= {format_mg(number)} {reference.unit})"
            texts.append(f"{shown} ({reference.describe()}): {state}")
        if not xs:
            continue
        traces.append(
            _scatter(
                _LAB_AXES,
                x=xs,
                y=ys,
                name=f"{label} (÷ {limit_text})",
                legendgroup="labs",
                mode="lines+markers",
                line={"color": colour, "width": 1.5},
                marker={"color": colour, "size": sizes, "symbol": symbols, "line": {"width": 1.5}},
                text=texts,
                hovertemplate="%{x|%Y-%m-%d}<br>%{text}<extra></extra>",
            )
        )
    return traces, skipped


# The row of photograph markers: a strip under CLASI 0, where no score, flag or
# label (the withdrawal's sits at the top) can hide a marker.
_PHOTO_Y = -2.5
_PHOTO_FLOOR = -4.5
_PHOTO_COLOUR = "#0f766e"
PHOTO_TRACE_NAME = "Photographs"


def _photo_trace(photos: Mapping[dt.date, tuple[int, str]], y: float) -> dict[str, Any]:
    """One marker per visit with photographs, in a strip under the CLASI line.

    `meta: "link"` tells static/js/charts.js that a click on a point opens the
    address in its customdata (the visit's photographs); the chart's table
    carries the same links for the keyboard and screen readers.
    """
    days = sorted(photos)
    counts = [photos[day][0] for day in days]
    return _scatter(
        x=[_iso(day) for day in days],
        y=[y] * len(days),
        name=PHOTO_TRACE_NAME,
        uid="photographs",  # a stable class on the SVG group, for scripts and tests
        mode="markers",
        marker={
            "symbol": "square",
            "size": 11,
            "color": _PHOTO_COLOUR,
            "line": {"color": "#ffffff", "width": 1.5},
        },
        text=[f"{n} photograph{'s' if n != 1 else ''}" for n in counts],
        customdata=[[photos[day][1]] for day in days],
        meta="link",
        hovertemplate="%{x|%Y-%m-%d}<br><b>%{text}</b><br>click or tap to open<extra></extra>",
    )


def _record_dates(timeline: PatientRecord) -> list[dt.date]:
    """Every dated entry of the record: what the time axis spans."""
    dates = [a.date for a in timeline.assessments] + [lab.date for lab in timeline.labs]
    dates += [v.date for v in timeline.visits]
    for course in timeline.courses:
        dates += [course.start] + ([course.end] if course.end else [])
        dates += [step.date for step in course.doses]
        for hold in course.interruptions:
            dates += [hold.start] + ([hold.end] if hold.end else [])
    return dates


def _dose_trace(course: Course, until: dt.date) -> dict[str, Any] | None:
    """The course's daily dose as a step line, each step labelled with its schedule."""
    if not course.doses:
        return None
    xs, ys, texts, hovers = [], [], [], []
    for step in course.doses:
        xs.append(_iso(step.date))
        ys.append(float(step.daily_mg))
        texts.append(step.label)
        hovers.append(f"{step.label} from {_iso(step.date)}")
    # Carry the last step to the end of the band so the line shows how long it lasted.
    last = course.doses[-1]
    if until > last.date:
        xs.append(_iso(until))
        ys.append(float(last.daily_mg))
        texts.append("")
        hovers.append(f"{last.label} until {_iso(until)}")
    return _scatter(
        _DOSE_AXES,
        x=xs,
        y=ys,
        name=f"{course.label} mg/day",
        legendgroup="dose",
        mode="lines+markers+text",
        line={"shape": "hv", "color": _DOSE_COLOUR, "width": 2},
        marker={"size": 5, "color": _DOSE_COLOUR},
        text=texts,
        # Above and below the line in turn: two steps a few weeks apart (a phone's
        # few pixels) never print their labels over each other.
        textposition=["top right" if i % 2 == 0 else "bottom right" for i in range(len(texts))],
        textfont={"size": 11, "color": "#6d3f63"},
        hovertext=hovers,
        hovertemplate="%{hovertext}<extra></extra>",
    )


def _hold_box(
    axes: tuple[str, str], start: dt.date, end: dt.date, low: float, high: float, text: str,
    first: bool,
) -> dict[str, Any]:
    """A hatched box over an interruption: the gap a clinician must see at a glance."""
    x0, x1 = _iso(start), _iso(end)
    return _scatter(
        axes,
        x=[x0, x1, x1, x0, x0],
        y=[low, low, high, high, low],
        mode="lines",
        fill="toself",
        fillcolor="rgba(255,255,255,0)",
        fillpattern=_HOLD_PATTERN,
        line={"color": "#8a94a6", "width": 1, "dash": "dot"},
        name=HOLD_TRACE_NAME,
        legendgroup="hold",
        showlegend=first,
        text=[text] * 5,
        hoveron="fills+points",
        hovertemplate="%{text}<extra></extra>",
    )


def _hold_text(course: Course, start: dt.date, end: dt.date | None, reason: str) -> str:
    until = f"resumed {_iso(end)}" if end is not None else "still on hold"
    return f"{course.label} on hold from {_iso(start)}, {until}" + (f" ({reason})" if reason else "")


def _lane(
    timeline: PatientRecord, last_day: dt.date | None, first_hold: bool
) -> tuple[list[dict[str, Any]], list[str], bool]:
    """The other treatments, one row per drug: a thick bar per course, hatched holds."""
    others = [c for c in timeline.courses if not c.watched]
    labels: list[str] = []
    for course in others:
        if course.label not in labels:
            labels.append(course.label)
    traces: list[dict[str, Any]] = []
    for course in others:
        y = labels.index(course.label)
        end = max(course.end or last_day or course.start, course.start)
        # Segments between holds: the bar is broken where the drug was not taken.
        cuts = [(course.start, end)]
        for hold in course.interruptions:
            hold_end = min(hold.end or end, end)
            pieces = []
            for a, b in cuts:
                if hold.start > a:
                    pieces.append((a, min(b, hold.start)))
                if hold_end < b:
                    pieces.append((max(a, hold_end), b))
            cuts = [(a, b) for a, b in pieces if a < b] or []
            traces.append(
                _hold_box(
                    _LANE_AXES, hold.start, hold_end, y - 0.3, y + 0.3,
                    _hold_text(course, hold.start, hold.end, hold.reason), first_hold,
                )
            )
            first_hold = False
        xs: list[str | None] = []
        hovers: list[str | None] = []
        for a, b in cuts:
            dose = course.dose_on(a)
            words = f"{course.label} {dose.label if dose else 'dose not recorded'} from {_iso(a)}"
            xs += [_iso(a), _iso(b), None]
            hovers += [words, words, None]
        traces.append(
            _scatter(
                _LANE_AXES,
                x=xs,
                y=[y if x is not None else None for x in xs],
                mode="lines",
                line={"color": _LANE_COLOUR, "width": 10},
                name=course.label,
                legendgroup="lane",
                showlegend=False,
                hovertext=hovers,
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    return traces, labels, first_hold


def trend_figure(
    timeline: PatientRecord,
    flags: Sequence[Flag] = (),
    *,
    acknowledged: Iterable[str] = (),
    thresholds: Thresholds = Thresholds(),
    today: dt.date | None = None,
    photos: Mapping[dt.date, tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """The patient's trend chart as a plotly figure dict (see the module docstring).

    `acknowledged` holds flag keys already acknowledged (drawn as open
    diamonds); `today` closes the band of a course still running (defaults to
    the latest date in the record so the function stays free of the clock);
    it never widens the time axis, which spans the record. `photos` maps a
    visit's date to (how many photographs, the address of that visit's
    photographs): each such visit gets a marker that links there.
    """
    acknowledged = set(acknowledged)
    photos = photos or {}
    dates = _record_dates(timeline) + list(photos)
    last_day = today or (max(dates) if dates else None)

    data: list[dict[str, Any]] = []

    # -- top panel: CLASI ------------------------------------------------
    assessments = timeline.assessments
    x = [_iso(a.date) for a in assessments]
    baselines = _baselines(timeline, assessments, thresholds)
    custom = []
    for a in assessments:
        _, dose = dose_in_force(timeline, a.date)
        custom.append([a.damage, dose, response_label(timeline, a, thresholds, baselines)])
    data.append(
        _scatter(
            x=x,
            y=[a.activity for a in assessments],
            name="CLASI-A (activity)",
            mode="lines+markers",
            line={"color": _ACTIVITY_COLOUR, "width": 2.5},
            marker={"size": 7},
            customdata=custom,
            hovertemplate=(
                "%{x|%Y-%m-%d}<br>CLASI-A <b>%{y}</b> · CLASI-D %{customdata[0]}"
                "<br>Dose: %{customdata[1]}<br>Response: %{customdata[2]}<extra></extra>"
            ),
        )
    )
    data.append(
        _scatter(
            x=x,
            y=[a.damage for a in assessments],
            name="CLASI-D (damage)",
            mode="lines+markers",
            line={"color": _DAMAGE_COLOUR, "width": 1.5, "dash": "dot"},
            marker={"size": 5, "symbol": "square"},
            hovertemplate="%{x|%Y-%m-%d}<br>CLASI-D %{y}<extra></extra>",
        )
    )

    for flagged, name, symbol in (
        ([f for f in flags if f.key not in acknowledged], FLAG_TRACE_NAME, "diamond"),
        ([f for f in flags if f.key in acknowledged], ACK_FLAG_TRACE_NAME, "diamond-open"),
    ):
        if not flagged:
            continue
        data.append(
            _scatter(
                x=[_iso(f.date) for f in flagged],
                y=[f.activity for f in flagged],
                name=name,
                mode="markers",
                marker={
                    "symbol": symbol,
                    "size": 15,
                    "color": _FLAG_COLOUR,
                    "line": {"color": "#5c0f08", "width": 1.5},
                },
                text=[f.description for f in flagged],
                hovertemplate="<b>%{text}</b><extra></extra>",
            )
        )

    mild, moderate = SEVERITY_LIMITS
    top = max([a.activity for a in assessments] + [a.damage for a in assessments] + [moderate])
    if photos:
        data.append(_photo_trace(photos, _PHOTO_Y))

    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    dose_traces = []
    hold_traces: list[dict[str, Any]] = []
    first_hold = True
    band_top = max([a.activity for a in assessments] + [a.damage for a in assessments] + [20]) + 3
    for course in timeline.watched_courses:
        band_end = course.end or last_day or course.start
        band_end = max(band_end, course.start)
        for hold in course.interruptions:
            hold_end = min(hold.end or band_end, band_end)
            hold_traces.append(
                _hold_box(
                    _CLASI_AXES, hold.start, max(hold_end, hold.start), 0, band_top,
                    _hold_text(course, hold.start, hold.end, hold.reason), first_hold,
                )
            )
            first_hold = False
        shapes.append(
            {
                "type": "rect",
                "name": f"{COURSE_BAND_NAME} {course.id}",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(course.start),
                "x1": _iso(band_end),
                "y0": 0,
                "y1": 1,
                "fillcolor": _BAND_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        running = "" if course.end else " (running)"
        annotations.append(
            {
                "text": f"<b>{course.label}</b>{running}",
                "xref": "x",
                "yref": "paper",
                "x": _iso(course.start),
                "y": 1,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12, "color": "#14335c"},
            }
        )
        trace = _dose_trace(course, band_end)
        if trace is not None:
            dose_traces.append(trace)

    span = (min(dates), max(dates)) if dates else None
    for event in events(timeline, thresholds):
        if event.kind != "withdrawal":
            continue
        # In the last third of the record the label reads leftwards, inside the plot.
        late = span is not None and (event.date - span[0]) > (span[1] - span[0]) * 2 / 3
        shapes.append(
            {
                "type": "line",
                "name": WITHDRAWAL_LINE_NAME,
                "xref": "x",
                "yref": "paper",
                "x0": _iso(event.date),
                "x1": _iso(event.date),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#14335c", "width": 1.5, "dash": "dash"},
            }
        )
        annotations.append(
            {
                "text": event.label,
                "xref": "x",
                "yref": "y domain",
                "x": _iso(event.date),
                "y": 0.97,
                "xanchor": "right" if late else "left",
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": 11, "color": "#14335c"},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )

    for limit in SEVERITY_LIMITS:
        shapes.append(
            {
                "type": "line",
                "name": f"severity limit {limit}",
                "xref": "x domain",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": limit,
                "y1": limit,
                "line": {"color": "#9a6b00", "width": 1, "dash": "dot"},
            }
        )
    severity_labels = []
    for text, y, anchor in (
        (f"mild ≤ {mild}", mild, "top"),
        (f"moderate {mild + 1}–{moderate}", moderate, "top"),
        (f"severe ≥ {moderate + 1}", moderate, "bottom"),
    ):
        annotations.append(
            {
                "text": text,
                "xref": "x domain",
                "yref": "y",
                "x": 1,
                "y": y,
                "xanchor": "right",
                "yanchor": anchor,
                "showarrow": False,
                "font": {"size": 10, "color": "#7a5500"},
            }
        )
        severity_labels.append(len(annotations) - 1)

    named: set[str] = set()
    for trace in dose_traces:
        # One legend entry per drug, however many courses it had.
        data.append({**trace, "showlegend": trace["name"] not in named})
        named.add(trace["name"])
    data.extend(hold_traces)

    # -- middle lane: every other treatment --------------------------------
    lane_traces, lane_labels, first_hold = _lane(timeline, last_day, first_hold)
    data.extend(lane_traces)
    if not lane_labels and dates:
        # As for the labs below: plotly draws no axes (so no annotation) for an empty row.
        data.append(
            _scatter(
                _LANE_AXES,
                x=[_iso(min(dates)), _iso(max(dates))],
                y=[0, 0],
                mode="lines",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name="no other treatment",
            )
        )
        annotations.append(
            {
                "text": "No other treatment recorded",
                "xref": "x3 domain",
                "yref": "y3 domain",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 11, "color": "#5b6676"},
            }
        )

    # -- bottom panel: labs as multiples of their limits -------------------
    lab_traces, skipped = _lab_traces(timeline)
    data.extend(lab_traces)
    if lab_traces:
        shapes.append(
            {
                "type": "line",
                "name": "reference limit",
                "xref": "x4 domain",
                "yref": "y4",
                "x0": 0,
                "x1": 1,
                "y0": 1,
                "y1": 1,
                "line": {"color": "#333", "width": 1, "dash": "dash"},
            }
        )
        annotations.append(
            {
                "text": "limit (1 ×)",
                "xref": "x4 domain",
                "yref": "y4",
                "x": 0,
                "y": 0,  # log axis: annotation y is log10 of the value
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": "#333"},
            }
        )
    elif dates:
        # plotly draws no axes for a subplot without a trace: an invisible one keeps
        # the lower panel (and so the shared date axis and its labels) on the page.
        data.append(
            _scatter(
                x=[_iso(min(dates)), _iso(max(dates))],
                y=[1, 1],
                mode="lines",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name="no lab results",
                axes=_LAB_AXES,
            )
        )
        annotations.append(
            {
                "text": "No anti-dsDNA, C3, C4, ANC or platelet results recorded",
                "xref": "x4 domain",
                "yref": "y4 domain",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 12, "color": "#5b6676"},
            }
        )
    if skipped:
        annotations.append(
            {
                "text": f"{skipped} lab value{'s' if skipped != 1 else ''} in another unit not charted",
                "xref": "x4 domain",
                "yref": "y4 domain",
                "x": 1,
                "y": 1,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": "#5b6676"},
            }
        )

    max_dose = max(
        [float(s.daily_mg) for c in timeline.watched_courses for s in c.doses] + [10.0]
    )
    layout = json.loads(_skeleton())
    layout.update(
        shapes=shapes,
        annotations=layout.get("annotations", []) + annotations,
        height=700,
        margin={"l": 60, "r": 24, "t": 36, "b": 40},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", "size": 13},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        hovermode="closest",
        # Below the plot, never over it: at 390 px it wraps into rows under the chart.
        legend={"orientation": "h", "yanchor": "top", "y": -0.06, "x": 0, "font": {"size": 12}},
    )
    # Head room above the highest step so its label stays inside the dose lane;
    # three round ticks at most in a strip some 70 px high.
    dose_step = 5 if max_dose <= 6 else 10 if max_dose <= 18 else 50
    dose_top = dose_step * math.ceil(max_dose * 1.6 / dose_step)
    layout["yaxis"].update(
        title={"text": "CLASI"}, range=[_PHOTO_FLOOR if photos else 0, top + 3],
        tick0=0, dtick=5 if top <= 30 else 10, gridcolor="#eceff3", zeroline=False,
    )
    layout["yaxis2"].update(
        title={"text": "mg/day"}, range=[-0.45 * dose_top, dose_top], tick0=0, dtick=dose_step,
        gridcolor="#f3f4f7", zeroline=False, fixedrange=True,
    )
    n_lanes = max(len(lane_labels), 1)
    layout["yaxis3"].update(
        # Reversed: the first drug on top.
        tickvals=list(range(len(lane_labels))), ticktext=lane_labels, range=[n_lanes - 0.4, -0.6],
        showgrid=False, zeroline=False, fixedrange=True,
    )
    layout["yaxis4"].update(
        title={"text": "× limit"}, type="log", gridcolor="#eceff3", zeroline=False,
        tickvals=[0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50],
    )
    # An explicit range on every row: with no lab traces the lower panel's empty
    # axis would otherwise pull the shared range back to plotly's default (2000).
    x_range = _date_range(dates)
    for axis in _X_AXES:
        layout[axis].update(type="date", gridcolor="#eceff3", range=x_range)
    layout["xaxis4"].update(tickformat="%Y-%m-%d")
    figure: dict[str, Any] = {"data": data, "layout": layout}
    figure["zoom"] = _zoom_presets(dates, x_range)
    # On a phone the severity words crowd the right edge (the caption names the guides).
    offset = len(layout["annotations"]) - len(annotations)
    hidden = {f"annotations[{offset + i}].visible": False for i in severity_labels}
    figure["narrow"] = {**NARROW, "layout": {**NARROW["layout"], **hidden}}
    return figure


# Layout changes for a narrow screen (a phone, 390 px wide), applied by
# static/js/charts.js below `max_width` as plotly relayout keys: fewer, shorter
# date ticks, thin margins, a smaller font; the chart grows taller so the legend
# that wraps below it does not squeeze the plots. (The mode bar is hidden by CSS.)
NARROW: dict[str, Any] = {
    "max_width": 600,
    "layout": {
        "height": 820,
        "margin.l": 44,
        "margin.r": 8,
        "font.size": 11,
        "legend.font.size": 11,
        "xaxis4.nticks": 4,
        "xaxis4.tickformat": "%b %Y",
        "xaxis4.tickangle": 0,
    },
}


def _date_range(dates: Sequence[dt.date]) -> list[str] | None:
    """First to last entry of the record, padded by 3% of the span and at least
    a week on each side. Not to today: a finished record fills the width."""
    if not dates:
        return None
    first, last = min(dates), max(dates)
    pad = max(7, round((last - first).days * 0.03))
    return [_iso(shift(first, -pad)), _iso(shift(last, pad))]


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (the 31st falls back to the month's end)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


ZOOM_WHOLE = "Whole record"


def _zoom_presets(dates: Sequence[dt.date], x_range: list[str] | None) -> list[dict[str, Any]]:
    """The time spans the chart's buttons switch between: the whole record and its
    last 12 and 6 months (each offered only when the record is longer than it).
    None for a record shorter than six months: one span, nothing to switch."""
    if not dates or x_range is None:
        return []
    first, last = min(dates), max(dates)
    presets = []
    for months in (12, 6):
        start = _months_before(last, months)
        if start > first:
            presets.append({"label": f"Last {months} months", "range": [_iso(start), x_range[1]]})
    if not presets:
        return []
    return [{"label": ZOOM_WHOLE, "range": x_range}, *presets]
