"""The cohort page in a real browser: every section of a paper's results is there,
both charts are drawn, the drug selector works without JavaScript, and nothing
scrolls sideways at 1440 or 390 px (issue 10, "Done when")."""

from __future__ import annotations

import io
import json
import os

import pytest

from patients.exchange import import_document
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser]
SHOTS = os.environ.get("CLE_SCREENSHOTS")  # a folder to save screenshots in, when set

SECTIONS = (
    "Table 1: patients",
    "Response",
    "Mean CLASI-A by week",
    "Relapse after withdrawal",
    "Damage (CLASI-D)",
    "Adverse events",
    "Immunology",
    "Progression to SLE",
    "Beside the published series",
)


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_the_cohort_page_shows_every_section(page, live_server, transactional_db, clinic_a, clinician_a):
    from patients.demo import DEMO_FILE

    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    import_document(data, clinic=clinic_a)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, clinician_a.username)
    page.goto(f"{live_server.url}/cohort/?as_of=2026-11-24")
    for heading in SECTIONS:
        assert page.get_by_role("heading", name=heading, exact=True).is_visible(), heading
    page.wait_for_selector('.chart[data-figure-id="km-figure"][data-rendered="true"] svg.main-svg')
    page.wait_for_selector('.chart[data-figure-id="activity-figure"][data-rendered="true"] svg.main-svg')
    # The numbers are the report's: the JSON link of the same page gives them.
    report = page.request.get(f"{live_server.url}/cohort/?as_of=2026-11-24&format=json").json()
    response = page.locator("table.cohort-response")
    assert response.get_by_text(
        f"{report['patients_complete_response']} of {report['patients_evaluable']}"
    ).first.is_visible()
    ae = page.locator("table.cohort-ae tbody tr")
    assert ae.count() == len(report["adverse_events"]) > 0
    assert page.locator("table.cohort-published tbody tr").count() == 5  # the clinic + 4 series
    assert page.evaluate("document.documentElement.scrollWidth <= 1440")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "cohort-1440.png"), full_page=True)

    # The demo holds a thalidomide restart: the selector is a plain GET form.
    page.get_by_label("Drug").select_option("thalidomide")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: "drug=thalidomide" in url)
    assert page.get_by_role("heading", name="Table 1: patients").is_visible()
    assert "Patients with a thalidomide course" in page.content()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/cohort/?as_of=2026-11-24")
    for heading in SECTIONS:
        assert page.get_by_role("heading", name=heading, exact=True).is_visible(), heading
    # Wide tables scroll inside their own box, the page itself never sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= 390 + 1")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "cohort-390.png"), full_page=True)
    assert errors == []
