"""Properties of CLASI scoring over random examinations (hypothesis).

Valid examinations are drawn from the instrument data itself, so the
strategies follow the definition; invalid ones throw every wrong type at every
level of the document.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical.instruments.exam import Exam, ExamError, parse_exam, parse_exam_all_errors, score
from clinical.instruments.instrument import Instrument
from clinical.instruments.clasi import CLASI

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLAG = CLASI.modifier.key


# -- strategies built from the instrument data --------------------------------


def exam_dicts(instrument: Instrument = CLASI) -> st.SearchStrategy[dict[str, Any]]:
    """Valid exchange-format examinations: any subset of areas, items and keys."""
    values = {i.key: st.sampled_from(i.values) for i in instrument.items}
    area = {
        a: st.fixed_dictionaries({}, optional={k: values[k] for k in keys})
        for a, keys in instrument.applicable.items()
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "instrument": st.just(instrument.name),
        "areas": st.fixed_dictionaries({}, optional=area),
        instrument.modifier.key: st.booleans(),
    }
    optional.update({i.key: st.sampled_from(i.values) for i in instrument.exam_items})
    return st.fixed_dictionaries({}, optional=optional)


exams = exam_dicts().map(parse_exam)

# Positions an item can be raised at: an area cell or a once-per-exam item.
positions = st.sampled_from(
    [(c.area.key, c.item) for c in CLASI.cells() if c.applies]
    + [(None, i) for i in CLASI.exam_items]
)


def reference_score(exam: Exam) -> tuple[int, int]:
    """clasi.md 1.4 written out literally, as a second opinion on score()."""
    areas = exam.areas.values()
    activity = (
        sum(a["erythema"] for a in areas)
        + sum(a["scale"] for a in areas)
        + exam.exam_items["mucous_membrane"]
        + exam.exam_items["recent_hair_loss"]
        + exam.exam_items["nonscarring_alopecia"]
    )
    doubling = 2 if exam.dyspigmentation_lasts_12_months else 1
    damage = (
        sum(a["dyspigmentation"] for a in areas) * doubling
        + sum(a.get("scarring", 0) for a in areas)
        + exam.exam_items["scalp_scarring"]
    )
    return activity, damage


def with_value(exam: Exam, area: str | None, item_key: str, value: int) -> Exam:
    if area is None:
        return dataclasses.replace(exam, exam_items={**exam.exam_items, item_key: value})
    areas = {k: dict(v) for k, v in exam.areas.items()}
    areas[area][item_key] = value
    return dataclasses.replace(exam, areas=areas)


# -- valid examinations ---------------------------------------------------------


@FAST
@given(exams)
def test_scores_stay_in_range_and_agree_with_the_formula(exam: Exam) -> None:
    result = score(exam)
    assert 0 <= result.activity <= CLASI.max_activity == 70
    assert 0 <= result.damage <= CLASI.max_damage == 56
    assert (result.activity, result.damage) == reference_score(exam)
    assert result.severity == CLASI.severity_band(result.activity).key


@FAST
@given(exams)
def test_totals_are_the_sum_of_their_parts(exam: Exam) -> None:
    result = score(exam)
    assert result.activity == sum(result.activity_parts.values())
    assert result.damage == sum(result.damage_parts.values())
    # The body map's per-area numbers add up too.
    assert sum(result.area_damage.values()) == result.damage
    once = sum(exam.exam_items[i.key] for i in CLASI.exam_items if i.kind == "activity")
    assert sum(result.area_activity.values()) + once == result.activity


@FAST
@given(exams, positions, st.data())
def test_raising_one_item_never_lowers_its_score_nor_moves_the_other(
    exam: Exam, position: tuple[str | None, Any], data: st.DataObject
) -> None:
    area, item = position
    current = exam.exam_items[item.key] if area is None else exam.value(area, item.key)
    higher = [v for v in item.values if v > current]
    if not higher:
        return  # already at its maximum
    raised = with_value(exam, area, item.key, data.draw(st.sampled_from(higher)))
    before, after = score(exam), score(raised)
    if item.kind == "activity":
        assert after.activity > before.activity
        assert after.damage == before.damage
    else:
        # Raising dyspigmentation or scarring always adds damage (never 0 extra).
        assert after.damage > before.damage
        assert after.activity == before.activity


@FAST
@given(exams, st.booleans())
def test_round_trip_through_the_exchange_format(exam: Exam, compact: bool) -> None:
    text = json.dumps(exam.to_dict(compact=compact))
    again = parse_exam(json.loads(text))
    assert again == exam
    assert hash(again) == hash(exam)
    assert score(again) == score(exam)
    assert again.to_dict(compact=compact) == exam.to_dict(compact=compact)


@FAST
@given(exams)
def test_the_12_month_flag_adds_exactly_the_undoubled_dyspigmentation(exam: Exam) -> None:
    off = score(dataclasses.replace(exam, dyspigmentation_lasts_12_months=False))
    on = score(dataclasses.replace(exam, dyspigmentation_lasts_12_months=True))
    undoubled = sum(cells["dyspigmentation"] for cells in exam.areas.values())
    assert on.damage - off.damage == undoubled
    assert on.activity == off.activity and on.activity_parts == off.activity_parts
    assert on.damage_parts["scarring"] == off.damage_parts["scarring"]
    assert on.damage_parts["scalp_scarring"] == off.damage_parts["scalp_scarring"]


@FAST
@given(exam_dicts(), st.randoms(use_true_random=False))
def test_key_order_does_not_matter(data: dict[str, Any], rnd: Any) -> None:
    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rnd.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        return value

    assert parse_exam(shuffled(data)) == parse_exam(data)


# -- invalid inputs ----------------------------------------------------------------

# Huge integers.  (Hypothesis cannot repr ints over CPython's 4300-digit str()
# limit; test_clasi.py sends 10**5000 itself.)
HUGE = st.sampled_from([10**30, -(10**30), 10**4000, -(10**4000), 2**63, -(2**63) - 1])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 2.0, 3.0, float("nan")]),
    st.text(max_size=8),
    st.sampled_from(["", "0", "2", "CLASI", "scalp", "erythema", "true"]),
    st.binary(max_size=4),
)
KEYS = st.one_of(
    st.sampled_from(
        [a.key for a in CLASI.areas]
        + [i.key for i in CLASI.items]
        + ["instrument", "areas", FLAG, "oedema", "", "Scalp"]
    ),
    st.text(max_size=6),
)
ODD_KEYS = st.one_of(KEYS, st.integers(), HUGE, st.none(), st.booleans(), st.tuples(st.integers()))
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(KEYS, inner, max_size=4),
        st.dictionaries(ODD_KEYS, inner, max_size=3),
        st.sets(st.integers(), max_size=3),
    ),
    max_leaves=8,
)


@st.composite
def damaged_exams(draw: st.DrawFn) -> Any:
    """A valid examination with one place broken: replaced by junk, given an
    unknown key, or an out-of-range integer."""
    data: dict[str, Any] = draw(exam_dicts())
    data.setdefault("areas", {})
    area = draw(st.sampled_from([a.key for a in CLASI.areas]))
    where = draw(st.sampled_from(["root", "top", "areas", "area", "cell", "unknown"]))
    bad = draw(junk)
    if where == "root":
        return bad
    if where == "top":
        data[draw(KEYS)] = bad
    elif where == "areas":
        data["areas"] = bad
    elif where == "area":
        data["areas"][area] = bad
    elif where == "cell":
        cells = data["areas"].setdefault(area, {})
        key = draw(st.sampled_from([i.key for i in CLASI.items] + ["oedema"]))
        cells[key] = draw(st.one_of(junk, st.integers(), HUGE))
    else:
        target = draw(st.sampled_from(["top", "areas", "area"]))
        holder = data if target == "top" else data["areas"]
        if target == "area":
            holder = data["areas"].setdefault(area, {})
        holder[draw(ODD_KEYS)] = bad
    return data


invalid_inputs = st.one_of(junk, damaged_exams())


def _check_never_crashes(data: Any) -> None:
    try:
        parse_exam(data)
    except Exception as exc:  # noqa: BLE001 - the type is the assertion
        assert type(exc) is ExamError, f"{type(exc).__name__}: {exc}"
        assert isinstance(exc.path, str) and exc.message and str(exc)
    exam, errors = parse_exam_all_errors(data)
    assert (exam is None) == bool(errors)
    for error in errors:
        assert type(error) is ExamError and error.message and str(error)
    if exam is not None:
        assert parse_exam(exam.to_dict()) == exam
        score(exam)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_inputs)
def test_invalid_input_only_ever_raises_exam_error(data: Any) -> None:
    _check_never_crashes(data)


@FAST
@given(damaged_exams())
def test_parse_exam_raises_the_first_of_all_errors(data: Any) -> None:
    exam, errors = parse_exam_all_errors(data)
    try:
        parsed = parse_exam(data)
    except ExamError as exc:
        assert errors and str(exc) == str(errors[0])
    else:
        assert not errors and parsed == exam
    # Deterministic: the same input always gives the same errors.
    assert [str(e) for e in parse_exam_all_errors(data)[1]] == [str(e) for e in errors]
