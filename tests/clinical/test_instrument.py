"""The CLASI definition as data must say what docs/clasi.md section 1 says."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from clinical.instruments.clasi import CLASI, SCALP_QUADRANTS_HELP
from clinical.instruments.registry import DEFAULT_INSTRUMENT, INSTRUMENTS, get_instrument


FORM_ORDER = [
    "scalp", "ears", "nose_malar", "rest_of_face", "v_neck", "post_neck_shoulders",
    "chest", "abdomen", "back_buttocks", "arms", "hands", "legs", "feet",
]  # fmt: skip


def test_registry_and_identity() -> None:
    assert INSTRUMENTS == {"CLASI": CLASI}
    assert DEFAULT_INSTRUMENT == "CLASI"
    assert get_instrument() is CLASI
    assert (CLASI.name, CLASI.version) == ("CLASI", "2005")


def test_thirteen_areas_in_form_order() -> None:
    assert [a.key for a in CLASI.areas] == FORM_ORDER
    assert CLASI.area("nose_malar").label == "Nose (including the malar area)"
    assert all(a.label for a in CLASI.areas)


def test_area_items_and_their_values() -> None:
    values = {i.key: i.values for i in CLASI.area_items}
    assert values == {
        "erythema": (0, 1, 2, 3),
        "scale": (0, 1, 2),  # not 0-3: the public calculator's mistake
        "dyspigmentation": (0, 1),
        "scarring": (0, 1, 2),
    }
    assert [i.kind for i in CLASI.area_items] == ["activity", "activity", "damage", "damage"]


def test_items_scored_once_per_examination() -> None:
    values = {i.key: i.values for i in CLASI.exam_items}
    assert values == {
        "mucous_membrane": (0, 1),
        "recent_hair_loss": (0, 1),
        "nonscarring_alopecia": (0, 1, 2, 3),
        "scalp_scarring": (0, 3, 4, 5, 6),
    }
    assert not CLASI.exam_item("scalp_scarring").allows(1)
    assert not CLASI.exam_item("scalp_scarring").allows(2)
    assert CLASI.exam_item("scalp_scarring").body_area == "scalp"
    kinds = {i.key: i.kind for i in CLASI.exam_items}
    assert kinds["nonscarring_alopecia"] == "activity"  # not dropped, and activity
    assert kinds["scalp_scarring"] == "damage"


def test_every_value_has_its_clinical_label() -> None:
    for it in CLASI.items:
        assert tuple(it.value_labels) == it.values
        assert all(label.strip() for label in it.value_labels.values())
    assert CLASI.item("erythema").label_of(3) == "dark red / violaceous / crusted or haemorrhagic"
    assert CLASI.item("scalp_scarring").label_of(6) == "the whole skull"
    assert CLASI.item("nonscarring_alopecia").label_of(3) == (
        "focal or patchy in more than one quadrant"
    )


def test_quadrant_rule_is_in_the_help() -> None:
    assert "midline" in SCALP_QUADRANTS_HELP and "highest points" in SCALP_QUADRANTS_HELP
    for key in ("nonscarring_alopecia", "scalp_scarring"):
        assert SCALP_QUADRANTS_HELP in CLASI.item(key).help
    assert "30 days" in CLASI.item("recent_hair_loss").help


def test_scarring_does_not_apply_to_the_scalp_only() -> None:
    assert CLASI.not_applicable == frozenset({("scalp", "scarring")})
    assert not CLASI.applies("scalp", "scarring")
    assert CLASI.applies("ears", "scarring") and CLASI.applies("scalp", "erythema")
    assert CLASI.not_applicable_reason("scalp", "scarring") == (
        "not scored on the scalp; use scalp_scarring"
    )
    assert [i.key for i in CLASI.items_for("scalp")] == ["erythema", "scale", "dyspigmentation"]
    assert sum(len(keys) for keys in CLASI.applicable.values()) == 13 * 4 - 1


def test_unknown_keys_are_loud() -> None:
    with pytest.raises(KeyError):
        CLASI.applies("scalpp", "erythema")
    with pytest.raises(KeyError):
        CLASI.applies("scalp", "mucous_membrane")  # an exam item, not an area item
    with pytest.raises(KeyError):
        CLASI.item("oedema")


def test_cells_walk_the_grid_in_form_order() -> None:
    cells = list(CLASI.cells())
    assert len(cells) == 13 * 4
    assert [(c.area.key, c.item.key) for c in cells[:5]] == [
        ("scalp", "erythema"), ("scalp", "scale"), ("scalp", "dyspigmentation"),
        ("scalp", "scarring"), ("ears", "erythema"),
    ]  # fmt: skip
    assert [(c.area.key, c.item.key) for c in cells if not c.applies] == [("scalp", "scarring")]


def test_maxima_are_derived_70_and_56_and_never_104() -> None:
    # clasi.md 1.4: 13x3 + 13x2 + 1 + 1 + 3 and 13x1x2 + 12x2 + 6.
    assert CLASI.max_activity == 70
    assert CLASI.max_damage == 56
    assert CLASI.max_activity + CLASI.max_damage != 104  # and nothing adds them anyway


def test_maxima_follow_the_data() -> None:
    # Derived, not hard-coded: dropping the alopecia item must change the maximum.
    from dataclasses import replace

    without_alopecia = replace(
        CLASI,
        exam_items=tuple(i for i in CLASI.exam_items if i.key != "nonscarring_alopecia"),
    )
    assert without_alopecia.max_activity == 67
    assert replace(CLASI, not_applicable=frozenset(), not_applicable_reasons={}).max_damage == 58


def test_modifier_doubles_dyspigmentation() -> None:
    m = CLASI.modifier
    assert m.key == "dyspigmentation_lasts_12_months"
    assert (m.item_key, m.factor) == ("dyspigmentation", 2)
    assert "12 months" in m.label and m.help


def test_severity_bands_cover_activity_exactly() -> None:
    bands = [(b.key, b.low, b.high) for b in CLASI.severity_bands]
    assert bands == [("mild", 0, 9), ("moderate", 10, 20), ("severe", 21, 70)]
    covered = [a for b in CLASI.severity_bands for a in range(b.low, b.high + 1)]
    assert covered == list(range(CLASI.max_activity + 1))
    assert CLASI.severity_band(9).key == "mild" and CLASI.severity_band(10).key == "moderate"
    assert CLASI.severity_band(20).key == "moderate" and CLASI.severity_band(21).key == "severe"
    for outside in (-1, 71):
        with pytest.raises(ValueError):
            CLASI.severity_band(outside)


def test_definition_is_immutable() -> None:
    with pytest.raises(FrozenInstanceError):
        CLASI.name = "RCLASI"  # type: ignore[misc]
    with pytest.raises(TypeError):
        CLASI.item("erythema").value_labels[4] = "black"  # type: ignore[index]
    with pytest.raises(TypeError):
        INSTRUMENTS["X"] = CLASI  # type: ignore[index]


def test_a_broken_definition_is_refused() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError):
        replace(CLASI, area_items=CLASI.area_items + (CLASI.area_items[0],))
    with pytest.raises(KeyError):
        replace(CLASI, not_applicable=frozenset({("scalp", "oedema")}))
