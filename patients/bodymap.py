"""The body map of a CLASI examination: a front and a back outline whose 13
regions are the instrument's areas, shaded by that visit's per-area points.

The geometry is plain data (SVG path strings keyed by area), so the template
only loops; the shading levels come from the scorer's ``Score.area_activity``
/ ``Score.area_damage`` and the instrument's own maxima, never from numbers
typed into a template.  No Django import: tested as plain Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clinical.instruments.exam import Score
from clinical.instruments.instrument import ACTIVITY, DAMAGE, Instrument, ItemKind
from clinical.instruments.clasi import CLASI

# Shading steps besides 0: enough to tell a faint area from a florid one at a
# glance without pretending to a precision the eye cannot read.
LEVELS = 4


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> str:
    return (
        f"M{cx - rx:g},{cy:g} a{rx:g},{ry:g} 0 1,0 {2 * rx:g},0 "
        f"a{rx:g},{ry:g} 0 1,0 {-2 * rx:g},0 Z"
    )


def _poly(*points: tuple[float, float]) -> str:
    return "M" + " L".join(f"{x:g},{y:g}" for x, y in points) + " Z"


def _shift(points: tuple[tuple[float, float], ...], dx: float) -> tuple[tuple[float, float], ...]:
    return tuple((x + dx, y) for x, y in points)


def _mirror(points: tuple[tuple[float, float], ...], axis: float) -> tuple[tuple[float, float], ...]:
    return tuple((2 * axis - x, y) for x, y in points)


# One figure is drawn around x=100, the other around x=300 (viewBox 400 x 430).
FRONT_X, BACK_X = 100, 300
_LEFT_ARM = ((64, 88), (54, 92), (42, 168), (36, 214), (48, 216), (56, 172), (68, 122))
_LEFT_LEG = ((68, 208), (99, 208), (96, 330), (93, 394), (78, 394), (72, 330))


def _limbs(axis: float) -> dict[str, list[str]]:
    """Arms, hands, legs and feet of the figure centred on ``axis``."""
    dx = axis - FRONT_X
    arm = _shift(_LEFT_ARM, dx)
    leg = _shift(_LEFT_LEG, dx)
    return {
        "arms": [_poly(*arm), _poly(*_mirror(arm, axis))],
        "hands": [_ellipse(axis - 58, 230, 8, 14), _ellipse(axis + 58, 230, 8, 14)],
        "legs": [_poly(*leg), _poly(*_mirror(leg, axis))],
        "feet": [_ellipse(axis - 15, 404, 12, 7), _ellipse(axis + 15, 404, 12, 7)],
    }


# The head is drawn larger than life (HEAD_SCALE about the chin, y=72): the
# face, nose/malar area, ears and scalp are where CLE shows most, and at true
# proportions they were too small to read at a glance.
HEAD_SCALE = 1.4
CHIN_Y = 72


def _head(axis: float, dx: float, y: float) -> tuple[float, float]:
    return (round(axis + dx * HEAD_SCALE, 1), round(CHIN_Y - (CHIN_Y - y) * HEAD_SCALE, 1))


def _head_ellipse(axis: float, dx: float, cy: float, rx: float, ry: float) -> str:
    x, y = _head(axis, dx, cy)
    return _ellipse(x, y, round(rx * HEAD_SCALE, 1), round(ry * HEAD_SCALE, 1))


def _front() -> dict[str, list[str]]:
    x = FRONT_X
    h = lambda dx, y: _head(x, dx, y)  # noqa: E731
    cap = [h(-21, 44), h(-21, 12), h(21, 12), h(21, 44), h(12, 30), h(-12, 30)]
    shapes: dict[str, list[str]] = {
        # Drawn in this order: the face first, the nose/malar butterfly and
        # the scalp cap over it.
        "rest_of_face": [_head_ellipse(x, 0, 48, 21, 25)],
        "nose_malar": [_poly(*(h(dx, y) for dx, y in (
            (-15, 46), (-4, 44), (0, 38), (4, 44), (15, 46),
            (12, 55), (4, 56), (0, 60), (-4, 56), (-12, 55))))],
        "scalp": ["M{:g},{:g} C{:g},{:g} {:g},{:g} {:g},{:g} C{:g},{:g} {:g},{:g} {:g},{:g} Z".format(
            *cap[0], *cap[1], *cap[2], *cap[3], *cap[4], *cap[5], *cap[0])],
        "ears": [_head_ellipse(x, -23, 50, 4, 8), _head_ellipse(x, 23, 50, 4, 8)],
        "v_neck": [_poly((x - 11, 72), (x + 11, 72), (x + 14, 86), (x, 106), (x - 14, 86))],
        "chest": [_poly((x - 36, 88), (x - 14, 86), (x, 106), (x + 14, 86), (x + 36, 88),
                        (x + 36, 150), (x - 36, 150))],
        "abdomen": [_poly((x - 36, 150), (x + 36, 150), (x + 34, 208), (x - 34, 208))],
    }
    shapes.update(_limbs(x))
    return shapes


def _back() -> dict[str, list[str]]:
    x = BACK_X
    shapes: dict[str, list[str]] = {
        "scalp": [_head_ellipse(x, 0, 46, 21, 26)],
        "ears": [_head_ellipse(x, -23, 50, 4, 8), _head_ellipse(x, 23, 50, 4, 8)],
        "post_neck_shoulders": [_poly((x - 11, 70), (x + 11, 70), (x + 13, 84), (x + 36, 88),
                                      (x + 36, 104), (x - 36, 104), (x - 36, 88), (x - 13, 84))],
        "back_buttocks": [_poly((x - 36, 104), (x + 36, 104), (x + 36, 150), (x + 34, 208),
                                (x - 34, 208), (x - 36, 150))],
    }
    shapes.update(_limbs(x))
    return shapes


# view -> area key -> SVG path strings.  Every one of the 13 areas appears in
# at least one view (tests hold this against the instrument).
VIEWS: dict[str, dict[str, list[str]]] = {"front": _front(), "back": _back()}
VIEW_LABELS = {"front": "Front", "back": "Back"}
VIEW_LABEL_X = {"front": FRONT_X, "back": BACK_X}


def area_max(instrument: Instrument, area_key: str, kind: ItemKind) -> int:
    """The most points one area can carry of one kind, from the instrument's
    data: 5 activity (erythema 3 + scale 2) everywhere; damage 4 (doubled
    dyspigmentation + scarring), or 8 on the scalp (scalp scarring)."""
    modifier = instrument.modifier
    total = 0
    for item in instrument.items_for(area_key):
        if item.kind == kind:
            factor = modifier.factor if item.key == modifier.item_key else 1
            total += item.max_value * factor
    for item in instrument.exam_items:
        if item.body_area == area_key and item.kind == kind:
            total += item.max_value
    return total


def level(points: int, maximum: int) -> int:
    """0 for a clear area, else 1..LEVELS in proportion to the area's maximum."""
    if points <= 0 or maximum <= 0:
        return 0
    return min(LEVELS, math.ceil(LEVELS * points / maximum))


@dataclass(frozen=True)
class Region:
    area: str
    label: str
    paths: tuple[str, ...]
    points: int
    maximum: int
    level: int
    title: str


@dataclass(frozen=True)
class Figure:
    view: str
    label: str
    label_x: int
    regions: tuple[Region, ...]


@dataclass(frozen=True)
class BodyMap:
    kind: ItemKind
    heading: str
    figures: tuple[Figure, ...]
    legend: tuple[tuple[int, str], ...]

    @property
    def summary(self) -> str:
        """The map in words, for screen readers: the areas with points."""
        seen: dict[str, str] = {}
        for figure in self.figures:
            for region in figure.regions:
                if region.points and region.area not in seen:
                    seen[region.area] = region.title
        word = "activity" if self.kind == ACTIVITY else "damage"
        return "; ".join(seen.values()) if seen else f"no {word} in any area"


def body_map(score: Score | None, kind: ItemKind, instrument: Instrument = CLASI) -> BodyMap:
    """The shaded figures of one kind (activity or damage); ``score`` None
    draws an empty map (nothing entered yet, or no examination)."""
    per_area = {}
    if score is not None:
        per_area = dict(score.area_activity if kind == ACTIVITY else score.area_damage)
    word = "activity" if kind == ACTIVITY else "damage"
    figures = []
    for view, shapes in VIEWS.items():
        regions = []
        # Painted in the geometry's order (face before the nose/malar
        # butterfly and the scalp cap), not the form's order.
        for area_key in shapes:
            area = instrument.area(area_key)
            points = per_area.get(area.key, 0)
            maximum = area_max(instrument, area.key, kind)
            regions.append(Region(
                area=area.key,
                label=area.label,
                paths=tuple(shapes[area.key]),
                points=points,
                maximum=maximum,
                level=level(points, maximum),
                title=f"{area.label}: {word} {points} of {maximum}",
            ))
        figures.append(Figure(view, VIEW_LABELS[view], VIEW_LABEL_X[view], tuple(regions)))
    legend = ((0, "clear"), (1, "slight"), (2, "moderate"), (3, "marked"), (4, "most"))
    heading = "Activity by area" if kind == ACTIVITY else "Damage by area"
    return BodyMap(kind, heading, tuple(figures), legend)


def body_maps(score: Score | None, instrument: Instrument = CLASI) -> dict[str, BodyMap]:
    return {ACTIVITY: body_map(score, ACTIVITY, instrument), DAMAGE: body_map(score, DAMAGE, instrument)}
