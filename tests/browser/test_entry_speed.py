"""Keystrokes and time for one realistic visit, typed as a clinician would.

The visit (issue 14): 8 areas scored, the 4 items scored once per
examination, 9 lab values and one adverse event.  Two ways of typing it:

- ``tab_plan``: the form as it was before issue 14 — a digit then Tab in
  every cell, Tab past blank cells and unit fields, open the lab and event
  sections by keyboard, save with the button.  Run on commit e807db3 it took
  BASELINE_KEYSTROKES keystrokes (BASELINE_GRID in the grid).
- ``fast_plan``: the same visit with the entry aids of issue 14 (the cursor
  moves on after a digit, Space clears the rest of a row and jumps to the next
  area, units are out of the Tab order, the CTCAE term list completes the
  event, Ctrl+Enter saves).

Both must save the same examination; the fast plan must take at most half the
baseline's keystrokes.  Time is the wall-clock time of the scripted typing
(server round trips of the live score panel included): a check that nothing
got slower, not a claim about a person's speed; the keystroke count is the
measure.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

pytestmark = pytest.mark.browser

# Measured with tab_plan on commit e807db3 (before issue 14): 165 keystrokes, 78 in the grid, 7.6 s.
BASELINE_KEYSTROKES = 165
BASELINE_GRID = 78

# The visit: 8 areas with something to score, in form order (erythema, scale,
# dyspigmentation, scarring; the scalp has no scarring cell).
AREAS = {
    "scalp": [2, 1, 1],
    "ears": [1, 0, 0, 0],
    "nose_malar": [3, 2, 1, 1],
    "rest_of_face": [1, 1, 0, 0],
    "v_neck": [2, 0, 1, 0],
    "chest": [2, 1, 0, 0],
    "arms": [1, 1, 1, 0],
    "hands": [1, 0, 0, 1],
}
AREA_ORDER = ["scalp", "ears", "nose_malar", "rest_of_face", "v_neck", "post_neck_shoulders",
              "chest", "abdomen", "back_buttocks", "arms", "hands", "legs", "feet"]
EXAM_ITEMS = [1, 1, 2, 3]  # mucous membrane, recent hair loss, non-scarring alopecia, scalp scarring
LABS = ["45", "0.8", "0.12", "1.9", "210", "4.5", "12.8", "70", "0.3"]  # form order, pregnancy skipped
EVENT = ("Neutrophil count decreased", 2)
# By hand (clasi.md 1.4): activity = erythema 13 + scale 6 + 1 + 1 + 2 = 23;
# damage = dyspigmentation 4 + scarring 2 + scalp scarring 3 = 9.
ACTIVITY, DAMAGE = 23, 9


class Keys:
    """Counts every key pressed and character typed."""

    def __init__(self, page) -> None:
        self.page, self.count = page, 0

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
        self.count += times


def tab_plan(page, keys: Keys) -> int:
    """Before issue 14: returns the keystrokes spent in the grid."""
    for area in AREA_ORDER:
        for value in AREAS.get(area, [0, 0, 0] if area == "scalp" else [0, 0, 0, 0]):
            if value:
                keys.type(str(value))
            keys.press("Tab")
    for value in EXAM_ITEMS:
        keys.type(str(value))
        keys.press("Tab")
    grid = keys.count
    # Modifier checkbox, "what the numbers mean", "no examination", then the labs section.
    keys.press("Tab", 3)
    keys.press("Enter")  # open "Lab results"
    for value in LABS:
        keys.press("Tab")
        keys.type(value)
        keys.press("Tab")  # the unit field
    keys.press("Tab", 2)  # pregnancy test, then the events section
    keys.press("Enter")  # open "Adverse events"
    keys.press("Tab")
    keys.type(EVENT[0])
    keys.press("Tab")
    keys.press("ArrowDown", EVENT[1])
    keys.press("Tab", 4)  # the second event row (term, grade), the note, the Save button
    keys.press("Enter")
    return grid


def fast_plan(page, keys: Keys) -> int:
    """With issue 14's aids, from a blank grid (not "start from the last visit",
    which would flatter the figure): returns the keystrokes spent in the grid."""
    for area in AREA_ORDER:
        values = AREAS.get(area, [])
        while values and values[-1] == 0:  # trailing zeros: Space clears them
            values = values[:-1]
        for value in values:
            keys.type(str(value))  # the cursor moves on by itself
        width = 3 if area == "scalp" else 4
        if len(values) < width:
            keys.press(" ")  # the rest of the area is clear: next area
    for value in EXAM_ITEMS:
        keys.type(str(value))
    grid = keys.count
    keys.press("Tab")  # from the 12-month modifier to the first lab (units are skipped)
    for i, value in enumerate(LABS):
        keys.type(value)
        keys.press("Enter" if i % 2 else "Tab")  # Enter moves on too, never saves here
    keys.press("Tab")  # past the UPCR, left blank
    keys.press("Tab")  # past the pregnancy test, into the first event's term
    keys.type(EVENT[0][:4])  # "Neut": one CTCAE term starts so; Tab completes it
    keys.press("Tab")
    keys.type(str(EVENT[1]))  # the grade by its digit
    keys.press("Control+Enter")
    return grid


def _saved(patient):
    from patients.models import Visit

    visit = Visit.objects.get(patient=patient)
    return visit


def test_a_realistic_visit_costs_at_most_half_the_keystrokes(
    sign_in, live_server, clinician_a, patient_a
):
    page = sign_in(clinician_a)
    page.goto(f"{live_server.url}/patients/{patient_a.pk}/visits/new/")
    page.wait_for_selector("#id_clasi-scalp-erythema:focus")
    keys = Keys(page)
    started = time.perf_counter()
    grid = fast_plan(page, keys)
    page.wait_for_url("**/patients/visits/*/")
    elapsed = time.perf_counter() - started
    visit = _saved(patient_a)
    assert (visit.assessment.activity, visit.assessment.damage) == (ACTIVITY, DAMAGE)
    labs = {lab.test: lab.value for lab in visit.labs.all()}
    assert labs["c3"] == Decimal("0.8") and labs["urine_protein"] == Decimal("0.3") and len(labs) == 9
    event = visit.adverse_events.get()
    assert (event.term, event.grade) == EVENT
    print(f"\nfast plan: {keys.count} keystrokes ({grid} in the grid), {elapsed:.2f} s; "
          f"baseline {BASELINE_KEYSTROKES} ({BASELINE_GRID} in the grid)")
    assert keys.count * 2 <= BASELINE_KEYSTROKES, keys.count
    assert grid * 2 <= BASELINE_GRID, grid
