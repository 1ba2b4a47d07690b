"""The two cohort charts as plotly figures (pure: no Django import).

- `relapse_free_figure`: Kaplan-Meier of relapse-free time after withdrawal
  in complete response (clinical.rules.outcomes.relapse_free_curve), a step line
  with censored courses marked "+", and the number at risk every 4 weeks
  printed under the time axis, as a clinical paper shows it.
- `activity_by_week_figure`: mean CLASI-A by weeks since the course start
  (clinical.rules.outcomes.mean_activity_by_week), each point labelled with the
  number of courses behind it, so a mean of two courses is not read like a
  mean of fifteen.

Both return a plain JSON-able dict ({"data", "layout"}) for `json_script`;
static/js/charts.js draws it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from clinical.rules.outcomes import KaplanMeier, WeekActivity

__all__ = ["activity_by_week_figure", "relapse_free_figure"]

ACCENT = "#1f5fa8"
RELAPSE_TRACE = "Relapse-free"
CENSOR_TRACE = "Censored (no relapse seen yet)"
MEAN_TRACE = "Mean CLASI-A"


def _plain(fig: go.Figure) -> dict[str, Any]:
    # Through plotly's own encoder: the dict holds only JSON types.
    return json.loads(pio.to_json(fig, validate=True))


def _empty(fig: go.Figure, message: str) -> dict[str, Any]:
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _plain(fig)


def _base_layout(fig: go.Figure, title: str, height: int, bottom: int) -> None:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 70, "r": 20, "t": 50, "b": bottom},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        font={"family": "system-ui, sans-serif", "size": 13},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#e6e9ef", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#e6e9ef", zeroline=False)


def _survival_at(km: KaplanMeier, days: int) -> Fraction:
    current = Fraction(1)
    for step in km.steps:
        if step.time_days > days:
            break
        current = step.survival
    return current


def relapse_free_figure(km: KaplanMeier, every_weeks: int = 4) -> dict[str, Any]:
    """Kaplan-Meier step curve with censor marks and a number-at-risk row."""
    fig = go.Figure()
    title = "Relapse-free after withdrawal in complete response"
    if not km.subjects:
        _base_layout(fig, title, 360, 40)
        return _empty(fig, "No course has been withdrawn in complete response yet.")
    xs = [float(s.time_weeks) for s in km.steps]
    ys = [float(s.survival) for s in km.steps]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            name=RELAPSE_TRACE,
            mode="lines",
            line={"shape": "hv", "color": ACCENT, "width": 2.5},
            customdata=[[s.at_risk, s.events, s.censored] for s in km.steps],
            hovertemplate=(
                "Week %{x:.1f}: %{y:.0%} relapse-free<br>at risk %{customdata[0]}, "
                "relapsed %{customdata[1]}, censored %{customdata[2]}<extra></extra>"
            ),
        )
    )
    censored = [s for s in km.subjects if not s.relapsed]
    if censored:
        fig.add_trace(
            go.Scatter(
                x=[float(s.time_weeks) for s in censored],
                y=[float(_survival_at(km, s.time_days)) for s in censored],
                name=CENSOR_TRACE,
                mode="markers",
                marker={"symbol": "cross-thin", "size": 12, "line": {"width": 2, "color": ACCENT}},
                text=[s.patient for s in censored],
                hovertemplate="%{text}: followed %{x:.1f} weeks without relapse<extra></extra>",
            )
        )
    table = km.at_risk_table(every_weeks)
    last_week = max(xs[-1], table[-1][0] if table else 0)
    # The number at risk under the axis, one figure per tick (paper y < 0).
    annotations = [
        {
            "x": week,
            "y": -0.24,
            "xref": "x",
            "yref": "paper",
            "text": str(n),
            "showarrow": False,
            "font": {"size": 12},
        }
        for week, n in table
    ]
    annotations.append(
        {
            "x": 0,
            "y": -0.24,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "right",
            "text": "At risk  ",
            "showarrow": False,
            "font": {"size": 12},
        }
    )
    # 560 px: the height static/css/charts.css gives every .chart.
    _base_layout(fig, title, 560, 130)
    fig.update_layout(annotations=annotations)
    fig.update_xaxes(
        title={"text": "Weeks since withdrawal (row below: number at risk)", "standoff": 8},
        range=[0, last_week + 1],
        tickmode="array",
        tickvals=[week for week, _ in table],
    )
    fig.update_yaxes(title={"text": "Relapse-free (proportion)"}, range=[0, 1.05], tickformat=".0%")
    return _plain(fig)


def activity_by_week_figure(points: Sequence[WeekActivity]) -> dict[str, Any]:
    """Mean CLASI-A per week bin since the course start, with n per point."""
    fig = go.Figure()
    title = "Mean CLASI-A by weeks since the course start"
    if not points:
        _base_layout(fig, title, 360, 40)
        return _empty(fig, "No course has a CLASI yet.")
    fig.add_trace(
        go.Scatter(
            x=[p.week for p in points],
            y=[p.mean_activity_1dp for p in points],
            name=MEAN_TRACE,
            mode="lines+markers+text",
            line={"color": ACCENT, "width": 2.5},
            marker={"size": 8},
            text=[f"n={p.n}" for p in points],
            textposition="top center",
            customdata=[p.n for p in points],
            hovertemplate="Week %{x}: mean CLASI-A %{y} over %{customdata} courses<extra></extra>",
        )
    )
    _base_layout(fig, title, 560, 60)
    top = max(p.mean_activity_1dp for p in points)
    fig.update_xaxes(
        title={"text": "Weeks since course start (0 = baseline)"},
        tickmode="array",
        tickvals=[p.week for p in points],
    )
    fig.update_yaxes(
        title={"text": "Mean CLASI-A"}, range=[0, max(10.0, top * 1.2)], rangemode="tozero"
    )
    return _plain(fig)
