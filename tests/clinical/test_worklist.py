"""The worklist's order and acknowledgement (clasi.md 5.6)."""

import datetime as dt
from decimal import Decimal

from clinical.record import Lab, PatientRecord
from clinical.rules.worklist import WorkItem, safety_items, safety_key, worklist

D = dt.date


def _item(kind, day, key=None):
    return WorkItem(kind=kind, key=key or f"{kind}:{day}", date=day, title=kind, action="-")


def test_most_urgent_first_then_newest_first_within_a_kind():
    items = [
        _item("flag", D(2026, 3, 1)),
        _item("flag", D(2026, 4, 1)),
        _item("cytopenia", D(2026, 1, 1)),
        _item("pregnancy_positive", D(2025, 1, 1)),
    ]
    order = [(i.kind, i.date) for i in worklist(items)]
    assert order == [
        ("pregnancy_positive", D(2025, 1, 1)),
        ("cytopenia", D(2026, 1, 1)),
        ("flag", D(2026, 4, 1)),
        ("flag", D(2026, 3, 1)),
    ]


def test_an_acknowledged_item_leaves_the_list():
    day = D(2026, 1, 5)
    record = PatientRecord(code="P", labs=(Lab(day, "pregnancy", "positive"),))
    items = safety_items(record, D(2026, 2, 1))
    assert [i.key for i in items] == [safety_key("pregnancy_positive", day)]
    assert worklist(items, acknowledged={safety_key("pregnancy_positive", day)}) == []


def test_a_future_dated_result_is_not_yet_an_item():
    record = PatientRecord(code="P", labs=(Lab(D(2026, 3, 1), "anc", Decimal("0.4"), "10^9/L"),))
    assert safety_items(record, D(2026, 2, 1)) == []
    assert [i.kind for i in safety_items(record, D(2026, 3, 1))] == ["cytopenia"]
