"""The visit form's entry aids in a real browser (issue 14): each would fail on
the form before it."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FIRST_CELL = "#id_clasi-scalp-erythema"


def _open_form(page, live_server, patient, query: str = "") -> None:
    page.goto(f"{live_server.url}/patients/{patient.pk}/visits/new/{query}")
    page.wait_for_selector(f"{FIRST_CELL}:focus")
    page.wait_for_load_state("load")  # the deferred script has run


def _focused(page) -> str:
    return page.evaluate("document.activeElement.id")


def test_a_digit_moves_on_and_the_setting_is_remembered(sign_in, live_server, clinician_a, patient_a):
    page = sign_in(clinician_a)
    _open_form(page, live_server, patient_a)
    page.keyboard.type("2")
    assert _focused(page) == "id_clasi-scalp-scale"
    page.keyboard.type("7")  # not a scale value: the cursor stays for correction
    assert _focused(page) == "id_clasi-scalp-scale"
    page.keyboard.press("Backspace")
    page.keyboard.press(" ")  # the rest of the scalp is clear: next area
    assert _focused(page) == "id_clasi-ears-erythema"
    page.keyboard.press("ArrowDown")
    assert _focused(page) == "id_clasi-nose_malar-erythema"

    page.uncheck("#auto-advance")
    _open_form(page, live_server, patient_a)  # a new page: the setting is remembered
    assert not page.is_checked("#auto-advance")
    page.keyboard.type("2")
    assert _focused(page) == "id_clasi-scalp-erythema"


def test_enter_in_a_lab_cell_moves_on_and_never_saves(sign_in, live_server, clinician_a, patient_a):
    from patients.models import Visit

    page = sign_in(clinician_a)
    _open_form(page, live_server, patient_a)
    page.locator("#id_lab-c3-value").fill("0.8")
    page.locator("#id_lab-c3-value").press("Enter")
    assert _focused(page) == "id_lab-c4-value"  # the unit (unchanged) is skipped
    page.wait_for_timeout(300)
    assert "/visits/new/" in page.url and Visit.objects.count() == 0
    # Units are out of the Tab order but reachable: → at the end of a result.
    assert page.get_attribute("#id_lab-c3-unit", "tabindex") == "-1"
    page.locator("#id_lab-c3-value").focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    assert _focused(page) == "id_lab-c3-unit"
    page.keyboard.type("mg/dL")  # a changed unit rejoins the Tab order
    assert page.get_attribute("#id_lab-c3-unit", "tabindex") is None
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/patients/visits/*/")
    assert Visit.objects.get().labs.get().unit == "mg/dL"


def test_no_examination_over_typed_scores_asks_in_the_page(sign_in, live_server, clinician_a, patient_a):
    page = sign_in(clinician_a)
    _open_form(page, live_server, patient_a)
    page.keyboard.type("21")
    dialogs = []
    page.on("dialog", lambda d: dialogs.append(d))  # window.confirm would land here
    page.get_by_label("No CLASI examination at this visit").click()
    dialog = page.locator("#skip-dialog")
    assert dialog.is_visible() and "2 cells" in dialog.inner_text()
    assert not dialogs
    page.get_by_role("button", name="Keep the scores").click()
    assert not page.is_checked("#id_clasi-skip")
    assert page.input_value(FIRST_CELL) == "2" and page.input_value("#id_clasi-scalp-scale") == "1"

    page.get_by_label("No CLASI examination at this visit").click()
    page.get_by_role("button", name="Clear the scores").click()
    assert page.is_checked("#id_clasi-skip")
    assert page.input_value(FIRST_CELL) == "" and page.input_value("#id_clasi-scalp-scale") == ""


def test_cells_copied_from_the_last_visit_stay_marked_until_changed(
    sign_in, live_server, clinician_a, patient_a
):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    record_visit(patient_a, date=dt.date(2025, 2, 3),
                 exam=parse_exam({"areas": {"scalp": {"erythema": 2, "scale": 1}}}))
    page = sign_in(clinician_a)
    _open_form(page, live_server, patient_a)
    page.get_by_role("link", name="Start from the last visit").click()
    page.wait_for_selector("[data-testid=copied-note]")
    page.wait_for_load_state("load")  # the deferred script has run
    assert page.input_value(FIRST_CELL) == "2"
    assert page.locator("td.copied").count() == 2
    # Focus selects the cell's value a moment later (setTimeout): select it now so
    # the digit replaces it whatever the machine's speed.
    page.locator(FIRST_CELL).select_text()
    page.keyboard.type("3")
    # The changed cell is no longer marked; the other copied cell still is.
    expect(page.locator("td.copied")).to_have_count(1)
    assert page.locator("td.copied input").get_attribute("id") == "id_clasi-scalp-scale"
    expect(page.locator("#score-panel [data-testid=activity]")).to_have_text("4")


def test_the_chart_can_be_shown_as_a_table(sign_in, live_server, clinician_a, patient_a, course_a):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    record_visit(patient_a, date=dt.date(2025, 1, 6),
                 exam=parse_exam({"areas": {"ears": {"erythema": 3, "scale": 2}}}))
    page = sign_in(clinician_a)
    page.goto(f"{live_server.url}/patients/{patient_a.pk}/")
    table = page.locator("[data-testid=chart-table]")
    wrap = page.locator(".chart-table-wrap")
    assert table.count() == 1
    # In the accessibility tree (screen readers reach it) while visually tucked away.
    assert page.get_by_role("table", name="The chart's numbers, one row per visit").count() == 1
    assert wrap.bounding_box()["width"] <= 1
    page.get_by_label("Show the chart as a table").check()
    assert wrap.bounding_box()["width"] > 300
    row = table.locator("tbody tr").first.inner_text()
    assert "2025-01-06" in row and "5 mg daily" in row and "\t5\t" in row
