"""The body map: every CLASI area is drawn, shading follows the scorer's per-area points."""

from __future__ import annotations

from patients.bodymap import VIEWS, area_max, body_map, level
from clinical.instruments.exam import parse_exam, score
from clinical.instruments.instrument import ACTIVITY, DAMAGE
from clinical.instruments.clasi import CLASI


def test_every_area_of_the_instrument_has_a_region_and_nothing_else_does():
    drawn = {area for shapes in VIEWS.values() for area in shapes}
    assert drawn == set(CLASI.area_keys)


def test_area_maxima_come_from_the_instrument():
    assert area_max(CLASI, "chest", ACTIVITY) == 5  # erythema 3 + scale 2
    assert area_max(CLASI, "chest", DAMAGE) == 4  # dyspigmentation 1 x 2 + scarring 2
    assert area_max(CLASI, "scalp", DAMAGE) == 8  # dyspigmentation 2 + scalp scarring 6


def test_levels_are_zero_only_for_a_clear_area():
    assert [level(p, 5) for p in range(6)] == [0, 1, 2, 3, 4, 4]
    assert level(1, 8) == 1 and level(8, 8) == 4


def test_map_shades_by_the_visit_and_puts_scalp_scarring_on_the_scalp():
    result = score(parse_exam({"areas": {"arms": {"erythema": 1}}, "scalp_scarring": 6}))
    activity = {r.area: r for f in body_map(result, ACTIVITY).figures for r in f.regions}
    damage = {r.area: r for f in body_map(result, DAMAGE).figures for r in f.regions}
    assert activity["arms"].level == 1 and activity["arms"].title == "Arms: activity 1 of 5"
    assert activity["scalp"].level == 0
    assert damage["scalp"].points == 6 and damage["scalp"].level == 3
    assert "Arms: activity 1 of 5" in body_map(result, ACTIVITY).summary
    assert body_map(None, DAMAGE).summary == "no damage in any area"
