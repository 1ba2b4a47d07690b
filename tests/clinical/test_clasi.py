"""Hand-computed CLASI scores and the rejections docs/clasi.md asks for.

Every expected number below was worked out by hand from clasi.md 1.4, never
by calling the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest

from clinical.instruments.exam import (
    Exam,
    ExamError,
    Score,
    parse_exam,
    parse_exam_all_errors,
    score,
    score_data,
    severity_band,
)
from clinical.instruments.clasi import CLASI
from tests.clinical.exchange_example import ANSWER, EXAMPLE

AREAS = [a.key for a in CLASI.areas]


def error_of(data: object) -> str:
    with pytest.raises(ExamError) as caught:
        parse_exam(data)
    assert type(caught.value) is ExamError
    return str(caught.value)


def maximal_exam(flag: bool = True) -> dict[str, Any]:
    areas = {
        a: {"erythema": 3, "scale": 2, "dyspigmentation": 1, "scarring": 2} for a in AREAS
    }
    del areas["scalp"]["scarring"]
    return {
        "areas": areas,
        "mucous_membrane": 1,
        "recent_hair_loss": 1,
        "nonscarring_alopecia": 3,
        "scalp_scarring": 6,
        "dyspigmentation_lasts_12_months": flag,
    }


# -- hand-computed scores -------------------------------------------------------


def test_all_zero_exam_scores_0_0_mild() -> None:
    for data in ({}, {"instrument": "CLASI"}, {"areas": {}}, {"areas": {"ears": {}}}):
        result = score_data(data)
        assert (result.activity, result.damage, result.severity) == (0, 0, "mild")
    assert score(Exam.empty()).to_dict() == {
        "instrument": "CLASI",
        "activity": 0,
        "damage": 0,
        "severity": "mild",
        "activity_parts": {
            "erythema": 0, "scale": 0, "mucous_membrane": 0,
            "recent_hair_loss": 0, "nonscarring_alopecia": 0,
        },
        "damage_parts": {"dyspigmentation": 0, "scarring": 0, "scalp_scarring": 0},
    }  # fmt: skip


def test_every_item_at_its_maximum_scores_70_and_56() -> None:
    result = score_data(maximal_exam(flag=True))
    assert (result.activity, result.damage, result.severity) == (70, 56, "severe")
    assert dict(result.activity_parts) == {
        "erythema": 39, "scale": 26, "mucous_membrane": 1,
        "recent_hair_loss": 1, "nonscarring_alopecia": 3,
    }  # fmt: skip
    assert dict(result.damage_parts) == {"dyspigmentation": 26, "scarring": 24, "scalp_scarring": 6}


def test_maximum_without_the_12_month_flag_is_70_and_43() -> None:
    result = score_data(maximal_exam(flag=False))
    assert (result.activity, result.damage) == (70, 43)  # 13 + 24 + 6
    assert result.damage_parts["dyspigmentation"] == 13


def test_global_items_count_once_not_per_area() -> None:
    data = {
        "areas": {a: {"erythema": 1} for a in AREAS},
        "mucous_membrane": 1,
        "recent_hair_loss": 1,
        "nonscarring_alopecia": 2,
        "scalp_scarring": 4,
    }
    result = score_data(data)
    # 13 areas x erythema 1 = 13; + 1 + 1 + 2 once each = 17 (not 13 + 13x4).
    assert result.activity == 17
    assert result.activity_parts["mucous_membrane"] == 1
    assert result.activity_parts["recent_hair_loss"] == 1
    assert result.activity_parts["nonscarring_alopecia"] == 2
    assert result.damage == 4 and result.damage_parts["scalp_scarring"] == 4


def test_doubling_touches_only_the_dyspigmentation_subtotal() -> None:
    data: dict[str, Any] = {
        "areas": {
            "ears": {"erythema": 2, "dyspigmentation": 1, "scarring": 2},
            "hands": {"dyspigmentation": 1, "scarring": 1},
            "legs": {"scale": 1, "dyspigmentation": 1},
        },
        "scalp_scarring": 3,
        "nonscarring_alopecia": 1,
    }
    plain = score_data(data)
    doubled = score_data({**data, "dyspigmentation_lasts_12_months": True})
    assert dict(plain.damage_parts) == {"dyspigmentation": 3, "scarring": 3, "scalp_scarring": 3}
    assert dict(doubled.damage_parts) == {"dyspigmentation": 6, "scarring": 3, "scalp_scarring": 3}
    assert (plain.damage, doubled.damage) == (9, 12)
    assert plain.activity == doubled.activity == 4
    assert plain.activity_parts == doubled.activity_parts


@pytest.mark.parametrize(
    ("activity", "band"),
    [(0, "mild"), (9, "mild"), (10, "moderate"), (20, "moderate"), (21, "severe"), (70, "severe")],
)
def test_severity_band_boundaries(activity: int, band: str) -> None:
    assert severity_band(activity) == band


def test_severity_band_refuses_impossible_activity() -> None:
    for impossible in (-1, 71, 104):
        with pytest.raises(ValueError):
            severity_band(impossible)


def _exam_with_activity(activity: int) -> dict[str, Any]:
    # erythema 3 in as many areas as fit, the remainder as scale.
    threes, rest = divmod(activity, 3)
    areas: dict[str, dict[str, int]] = {a: {"erythema": 3} for a in AREAS[:threes]}
    if rest:
        areas[AREAS[threes]] = {"scale": rest}
    return {"areas": areas}


@pytest.mark.parametrize(
    ("activity", "band"), [(9, "mild"), (10, "moderate"), (20, "moderate"), (21, "severe")]
)
def test_severity_boundaries_through_whole_exams(activity: int, band: str) -> None:
    result = score_data(_exam_with_activity(activity))
    assert (result.activity, result.severity) == (activity, band)


def test_the_exchange_format_example_recomputed_by_hand() -> None:
    # The document's answer (activity 16, moderate) contradicts its own parts:
    # see tests/scoring/exchange_example.py for the hand computation.
    assert score_data(EXAMPLE).to_dict() == ANSWER


def test_a_realistic_mixed_exam_by_hand() -> None:
    # A DLE patient with scalp, face, ear and hand disease, long-lasting dyspigmentation.
    data = {
        "areas": {
            "scalp": {"erythema": 3, "scale": 2, "dyspigmentation": 1},
            "ears": {"erythema": 1, "scale": 1, "dyspigmentation": 1, "scarring": 2},
            "nose_malar": {"erythema": 2, "scale": 1, "dyspigmentation": 1, "scarring": 1},
            "rest_of_face": {"erythema": 1},
            "v_neck": {"erythema": 2, "scale": 0},
            "arms": {"scale": 1, "dyspigmentation": 1},
            "hands": {"scarring": 1},
        },
        "mucous_membrane": 1,
        "recent_hair_loss": 1,
        "nonscarring_alopecia": 3,
        "scalp_scarring": 4,
        "dyspigmentation_lasts_12_months": True,
    }
    result = score_data(data)
    # erythema 3+1+2+1+2 = 9; scale 2+1+1+1 = 5; + 1 + 1 + 3 -> 19, moderate.
    assert (result.activity, result.severity) == (19, "moderate")
    # dyspigmentation 4 areas x 2 = 8; scarring 2+1+1 = 4; scalp scarring 4 -> 16.
    assert dict(result.damage_parts) == {"dyspigmentation": 8, "scarring": 4, "scalp_scarring": 4}
    assert result.damage == 16
    # The body map: per area, activity = erythema + scale, damage = 2 x dysp + scarring
    # (+ scalp scarring on the scalp).
    assert {k: v for k, v in result.area_activity.items() if v} == {
        "scalp": 5, "ears": 2, "nose_malar": 3, "rest_of_face": 1, "v_neck": 2, "arms": 1,
    }  # fmt: skip
    assert {k: v for k, v in result.area_damage.items() if v} == {
        "scalp": 6, "ears": 4, "nose_malar": 3, "arms": 2, "hands": 1,
    }  # fmt: skip
    assert list(result.area_activity) == AREAS and list(result.area_damage) == AREAS


def test_score_answer_has_exactly_the_documented_keys() -> None:
    answer = score_data(maximal_exam()).to_dict()
    assert list(answer) == [
        "instrument", "activity", "damage", "severity", "activity_parts", "damage_parts",
    ]  # fmt: skip
    assert list(answer["activity_parts"]) == [
        "erythema", "scale", "mucous_membrane", "recent_hair_loss", "nonscarring_alopecia",
    ]  # fmt: skip
    assert list(answer["damage_parts"]) == ["dyspigmentation", "scarring", "scalp_scarring"]
    assert json.loads(json.dumps(answer)) == answer
    assert not any("total" in key for key in answer)  # the two scores are never added


# -- the public calculator's mistakes, one rejection each (clasi.md 1) ----------


def test_mistake_scale_0_to_3_is_rejected() -> None:
    assert error_of({"areas": {"chest": {"scale": 3}}}) == (
        "areas.chest.scale: 3 is not one of 0, 1, 2"
    )
    # 3 is right for erythema, 4 is not.
    assert score_data({"areas": {"chest": {"erythema": 3}}}).activity == 3
    assert error_of({"areas": {"ears": {"erythema": 4}}}) == (
        "areas.ears.erythema: 4 is not one of 0, 1, 2, 3"
    )


@pytest.mark.parametrize("key", [i.key for i in CLASI.exam_items])
def test_mistake_global_items_inside_an_area_are_rejected(key: str) -> None:
    message = error_of({"areas": {"arms": {"erythema": 1, key: 1}}})
    assert message.startswith(f"areas.arms.{key}: ")
    assert "once per examination" in message


def test_mistake_global_items_are_summed_once() -> None:
    result = score_data({"areas": {a: {"erythema": 2} for a in AREAS}, "mucous_membrane": 1,
                         "recent_hair_loss": 1})  # fmt: skip
    assert result.activity == 13 * 2 + 1 + 1


def test_mistake_dropping_the_alopecia_item() -> None:
    assert score_data({"nonscarring_alopecia": 3}).activity == 3
    without = maximal_exam()
    del without["nonscarring_alopecia"]
    assert score_data(without).activity == 67
    assert score_data(maximal_exam()).activity == 70 == CLASI.max_activity


def test_mistake_a_maximum_of_104() -> None:
    result = score_data(maximal_exam())
    assert (CLASI.max_activity, CLASI.max_damage) == (70, 56)
    assert (result.activity, result.damage) == (70, 56)
    assert 104 not in score_data(maximal_exam()).to_dict().values()


@pytest.mark.parametrize("value", [1, 2])
def test_mistake_scalp_scarring_1_or_2_is_rejected(value: int) -> None:
    assert error_of({"scalp_scarring": value}) == (
        f"scalp_scarring: {value} is not one of 0, 3, 4, 5, 6"
    )


def test_mistake_scarring_on_the_scalp_is_rejected() -> None:
    for value in (0, 1, 2):
        assert error_of({"areas": {"scalp": {"scarring": value}}}) == (
            "areas.scalp.scarring: not scored on the scalp; use scalp_scarring"
        )


# -- strict validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "an examination must be a JSON object, not an array"),
        (None, "an examination must be a JSON object, not null"),
        ("{}", 'an examination must be a JSON object, not string "{}"'),
        ({"instrument": "RCLASI"}, 'instrument: unknown instrument string "RCLASI"; known: CLASI'),
        ({"instrument": None}, "instrument: must be a string, not null"),
        ({"areas": []}, "areas: must be an object of areas, not an array"),
        ({"areas": {"ears": 2}}, "areas.ears: must be an object of item scores, not integer 2"),
        ({"areas": {"ears": {"erythema": "2"}}},
         'areas.ears.erythema: must be an integer (0, 1, 2, 3), not string "2"'),
        ({"areas": {"ears": {"erythema": 2.0}}},
         "areas.ears.erythema: must be an integer (0, 1, 2, 3), not number 2.0"),
        ({"areas": {"ears": {"erythema": True}}},
         "areas.ears.erythema: must be an integer (0, 1, 2, 3), not boolean true"),
        ({"areas": {"ears": {"erythema": None}}},
         "areas.ears.erythema: must be an integer (0, 1, 2, 3), not null"),
        ({"areas": {"ears": {"erythema": 5}}}, "areas.ears.erythema: 5 is not one of 0, 1, 2, 3"),
        ({"areas": {"ears": {"erythema": -1}}}, "areas.ears.erythema: -1 is not one of 0, 1, 2, 3"),
        ({"areas": {"ears": {"erythema": 10**5000}}},
         "areas.ears.erythema: a 5001-digit number is not one of 0, 1, 2, 3"),
        ({"scalp_scarring": False},
         "scalp_scarring: must be an integer (0, 3, 4, 5, 6), not boolean false"),
        ({"mucous_membrane": 2}, "mucous_membrane: 2 is not one of 0, 1"),
        ({"dyspigmentation_lasts_12_months": 1},
         "dyspigmentation_lasts_12_months: must be true or false, not integer 1"),
        ({"dyspigmentation_lasts_12_months": "true"},
         'dyspigmentation_lasts_12_months: must be true or false, not string "true"'),
    ],
)  # fmt: skip
def test_rejections_name_the_path(data: object, message: str) -> None:
    assert error_of(data) == message


def test_unknown_keys_are_rejected_at_every_level() -> None:
    assert error_of({"version": "2005"}).startswith("version: unknown key")
    assert error_of({"areas": {"face": {}}}).startswith("areas.face: unknown area")
    assert error_of({"areas": {"ears": {"oedema": 1}}}).startswith(
        "areas.ears.oedema: unknown item"
    )
    assert error_of({"scalp": {"erythema": 1}}).startswith("scalp: an area")
    assert error_of({"erythema": 1}).startswith("erythema: an area item")
    assert error_of({"areas": {"ears": {1: 1}}}).startswith("areas.ears.1: unknown item")


def test_all_errors_are_collected_in_form_order() -> None:
    data = {
        "zzz": 1,
        "dyspigmentation_lasts_12_months": "yes",
        "scalp_scarring": 2,
        "areas": {
            "feet": {"scale": 9},
            "face": {},
            "scalp": {"scarring": 1, "erythema": 1.5, "mucous_membrane": 1},
            "ears": [],
        },
        "mucous_membrane": -3,
    }
    exam, errors = parse_exam_all_errors(data)
    assert exam is None
    assert [e.path for e in errors] == [
        "areas.scalp.erythema",
        "areas.scalp.scarring",
        "areas.scalp.mucous_membrane",
        "areas.ears",
        "areas.feet.scale",
        "areas.face",
        "mucous_membrane",
        "scalp_scarring",
        "dyspigmentation_lasts_12_months",
        "zzz",
    ]
    assert all(isinstance(e, ExamError) for e in errors)
    # parse_exam raises the first of them.
    assert error_of(data) == str(errors[0])
    # The same input in another key order gives the same errors.
    shuffled = dict(reversed(list(data.items())))
    assert [str(e) for e in parse_exam_all_errors(shuffled)[1]] == [str(e) for e in errors]


def test_all_errors_on_a_valid_exam() -> None:
    exam, errors = parse_exam_all_errors({"areas": {"ears": {"erythema": 1}}})
    assert errors == [] and exam is not None and exam.value("ears", "erythema") == 1


def test_an_unknown_instrument_stops_validation() -> None:
    _, errors = parse_exam_all_errors({"instrument": "X", "areas": 5, "foo": 1})
    assert [e.path for e in errors] == ["instrument"]


# -- ExamError ----------------------------------------------------------------


def test_exam_error_shape() -> None:
    err = ExamError("areas.scalp.scarring", "not scored on the scalp; use scalp_scarring")
    assert isinstance(err, ValueError)
    assert str(err) == "areas.scalp.scarring: not scored on the scalp; use scalp_scarring"
    assert str(ExamError("", "an examination must be a JSON object")) == (
        "an examination must be a JSON object"
    )
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.message) == (err.path, err.message)
    nested = err.prefixed("patients[3].visits[2].clasi")
    assert str(nested) == (
        "patients[3].visits[2].clasi.areas.scalp.scarring: "
        "not scored on the scalp; use scalp_scarring"
    )
    assert ExamError("", "x").prefixed("visits[0].clasi").path == "visits[0].clasi"


# -- Exam -----------------------------------------------------------------------


def test_exam_holds_every_applicable_cell() -> None:
    exam = parse_exam({"areas": {"ears": {"erythema": 2}}, "recent_hair_loss": 1})
    assert list(exam.areas) == AREAS
    for area in AREAS:
        assert tuple(exam.areas[area]) == CLASI.applicable[area]
    assert "scarring" not in exam.areas["scalp"]
    assert exam.value("ears", "erythema") == 2 and exam.value("legs", "scale") == 0
    assert dict(exam.exam_items) == {
        "mucous_membrane": 0, "recent_hair_loss": 1, "nonscarring_alopecia": 0, "scalp_scarring": 0,
    }  # fmt: skip
    assert exam.dyspigmentation_lasts_12_months is False
    assert (exam.instrument, exam.version, exam.definition) == ("CLASI", "2005", CLASI)


def test_exam_is_immutable() -> None:
    exam = parse_exam({"areas": {"ears": {"erythema": 2}}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        exam.dyspigmentation_lasts_12_months = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        exam.areas["ears"]["erythema"] = 3  # type: ignore[index]
    with pytest.raises(TypeError):
        exam.exam_items["mucous_membrane"] = 1  # type: ignore[index]


def test_parse_does_not_keep_the_callers_dicts() -> None:
    data: dict[str, Any] = {"areas": {"ears": {"erythema": 2}}}
    exam = parse_exam(data)
    data["areas"]["ears"]["erythema"] = 3
    assert exam.value("ears", "erythema") == 2


def test_exam_direct_construction_validates() -> None:
    exam = Exam(areas={"ears": {"erythema": 2}}, exam_items={"recent_hair_loss": 1})
    assert exam == parse_exam({"areas": {"ears": {"erythema": 2}}, "recent_hair_loss": 1})
    assert Exam() == Exam.empty() == parse_exam({})
    with pytest.raises(ExamError, match=r"^areas\.scalp\.scarring: not scored on the scalp"):
        Exam(areas={"scalp": {"scarring": 1}})
    with pytest.raises(ExamError, match=r"^exam_items\.erythema: "):
        Exam(exam_items={"erythema": 1})
    with pytest.raises(ExamError, match=r"^dyspigmentation_lasts_12_months: "):
        Exam(dyspigmentation_lasts_12_months=1)  # type: ignore[arg-type]
    with pytest.raises(ExamError, match=r"^instrument: "):
        Exam(instrument="RCLASI")
    # dataclasses.replace goes through the same validation.
    with pytest.raises(ExamError, match=r"^scalp_scarring: 2 is not one of"):
        dataclasses.replace(exam, exam_items={"scalp_scarring": 2})


def test_exam_equality_and_hash() -> None:
    a = parse_exam({"areas": {"ears": {"erythema": 2, "scale": 0}}})
    b = parse_exam({"areas": {"ears": {"erythema": 2}, "legs": {}}, "mucous_membrane": 0})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != parse_exam({"areas": {"ears": {"erythema": 1}}})
    assert "erythema" in repr(a) and len(repr(a)) < 200


def test_to_dict_full_and_compact() -> None:
    exam = parse_exam(
        {"areas": {"nose_malar": {"erythema": 3, "scale": 0}, "legs": {}}, "scalp_scarring": 3}
    )
    full = exam.to_dict()
    assert list(full) == [
        "instrument", "areas", "mucous_membrane", "recent_hair_loss",
        "nonscarring_alopecia", "scalp_scarring", "dyspigmentation_lasts_12_months",
    ]  # fmt: skip
    assert list(full["areas"]) == AREAS
    assert full["areas"]["scalp"] == {"erythema": 0, "scale": 0, "dyspigmentation": 0}
    assert full["dyspigmentation_lasts_12_months"] is False
    assert exam.to_dict(compact=True) == {
        "instrument": "CLASI",
        "areas": {"nose_malar": {"erythema": 3}},
        "scalp_scarring": 3,
    }
    assert Exam.empty().to_dict(compact=True) == {"instrument": "CLASI", "areas": {}}
    flagged = parse_exam({"dyspigmentation_lasts_12_months": True})
    assert flagged.to_dict(compact=True)["dyspigmentation_lasts_12_months"] is True
    for e in (exam, flagged, Exam.empty()):
        for compact in (False, True):
            assert parse_exam(json.loads(json.dumps(e.to_dict(compact=compact)))) == e
    # to_dict hands out fresh, mutable dicts: changing one leaves the exam alone.
    full["areas"]["legs"]["erythema"] = 3
    assert exam.value("legs", "erythema") == 0


def test_score_is_immutable_and_plain_in_its_answer() -> None:
    result = score_data(maximal_exam())
    assert isinstance(result, Score)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.activity = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.activity_parts["erythema"] = 0  # type: ignore[index]
    answer = result.to_dict()
    assert type(answer["activity_parts"]) is dict and type(answer["damage_parts"]) is dict
    assert result.version == "2005"
    assert hash(result) == hash(score_data(maximal_exam()))
