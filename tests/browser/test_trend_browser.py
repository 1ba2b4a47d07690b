"""The patient page in a real browser: the trend chart is drawn, a flag is acknowledged
and leaves the needs-attention page (issue 5, "Done when")."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.scoring.trend_factories import build_history

pytestmark = [pytest.mark.browser]
SHOTS = os.environ.get("CLE_SCREENSHOTS")  # a folder to save screenshots in, when set


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_chart_drawn_and_flag_acknowledged(page, live_server, transactional_db, clinic_a, clinician_a):
    patient = build_history(clinic_a, "SYN-BRW", n_visits=12, clinician=clinician_a)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1024, "height": 768})  # the clinic's tablet
    sign_in(page, live_server, clinician_a.username)

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    chart = page.locator('.chart[data-figure-id="trend-figure"]')
    page.wait_for_selector('.chart[data-rendered="true"] svg.main-svg')
    # The plotly SVG is there, with the course band (a shape plus its label) and the flag marker.
    assert chart.locator("svg.main-svg").count() >= 1
    assert chart.locator(".annotation-text", has_text="Lenalidomide").count() == 2
    bands = chart.evaluate(
        "el => el._fullLayout.shapes.filter(s => (s.name || '').startsWith('course band')).length"
    )
    assert bands == 2
    assert chart.locator(".shapelayer path").count() >= 2
    assert chart.locator(".legendtext", has_text="Flare flag").count() == 1
    flag_points = chart.evaluate(
        "el => el._fullData.filter(t => t.name === 'Flare flag').map(t => t.x.length)"
    )
    assert flag_points == [1]
    assert chart.locator(".scatterlayer .trace .points path").count() > 12
    # The chart fits the tablet: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= 1024")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "patient_trend.png"), full_page=True)
    # Printed, the chart stays (the print CSS hides the nav and forms, not the figure).
    page.emulate_media(media="print")
    box = chart.bounding_box()
    assert chart.is_visible() and box is not None and box["width"] > 600 and box["height"] > 400
    assert not page.locator(".ack-form").first.is_visible()
    page.emulate_media(media="screen")

    page.goto(f"{live_server.url}/attention/")
    assert page.get_by_role("link", name="SYN-BRW").count() == 1

    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.wait_for_selector('.chart[data-rendered="true"]')
    banner = page.locator(".flag-banner").first
    assert "Relapse after complete response" in banner.inner_text()
    banner.get_by_label("Acknowledgement note").fill("Seen; relapse 3 weeks after stopping, restart discussed.")
    banner.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector("text=Acknowledged flags (1)")
    assert page.locator(".flag-banner").count() == 0
    # htmx swapped the section: charts.js drew the new figure, the flag now acknowledged.
    page.wait_for_selector('.chart[data-rendered="true"] .legendtext >> text="Flare flag (acknowledged)"')
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "patient_after_ack.png"), full_page=True)

    # The history's ANC 0.8 is an urgent safety item (clasi.md 5.6): the patient stays on
    # the worklist until it is acknowledged too, with the same kind of form.
    page.goto(f"{live_server.url}/attention/")
    assert page.get_by_role("link", name="SYN-BRW").count() == 1
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    item = page.locator(".safety-item").first
    assert "Neutropenia" in item.inner_text()
    item.get_by_label("Acknowledgement note").fill("Count repeated: 1.6.")
    item.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".safety-item")).to_have_count(0)
    page.goto(f"{live_server.url}/attention/")
    assert page.get_by_role("link", name="SYN-BRW").count() == 0
    assert "Nothing needs attention in your clinics" in page.content()
    assert errors == []
