"""Under the strict CSP, the pages with charts and htmx work in chromium and the
browser reports no violation (plotly.js's style rules, htmx's requests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from patients.exchange import import_document
from tests.browser.conftest import sign_in_through_form
from tests.scoring.trend_factories import build_history

pytestmark = [pytest.mark.browser]
DEMO = Path(__file__).resolve().parents[2] / "patients" / "demo_cohort.json"

VIOLATIONS_JS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push([e.violatedDirective, e.sourceFile].join(' ')));
"""


def assert_only_the_map_stylesheet_was_refused(page) -> None:
    """plotly.js injects its map libraries' stylesheet at load (maps are never
    drawn here); the CSP refuses it. Nothing else may be refused."""
    violations = page.evaluate("window.__cspViolations")
    assert all(
        v.startswith("style-src-elem ") and v.endswith("/static/vendor/plotly.min.js")
        for v in violations
    ), violations
    styled = page.evaluate(
        "[...document.querySelectorAll('style')].filter(s => s.textContent)"
        ".map(s => s.textContent.slice(0, 12))"
    )
    assert set(styled) <= {".maplibregl-"}, styled
    assert len(violations) <= 1


def test_charts_and_htmx_under_the_csp(page, live_server, transactional_db, clinic_a, clinician_a):
    patient = build_history(clinic_a, "SYN-CSP", n_visits=8, clinician=clinician_a)
    import_document(json.loads(DEMO.read_text(encoding="utf-8")), clinic=clinic_a)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(VIOLATIONS_JS)
    sign_in_through_form(page, live_server, clinician_a.username)

    response = page.goto(f"{live_server.url}/patients/{patient.pk}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector('.chart[data-rendered="true"] svg.main-svg')
    # plotly.js's global rules arrived through the allowed empty <style>: its
    # mode bar is absolutely positioned by them, not by any CSS of ours.
    page.locator(".chart .nsewdrag").first.hover()  # plotly listens on its drag layer
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.modebar')).position"
    ) == "absolute"
    # Bold chart text (an allowed style attribute hash) is bold.
    assert page.evaluate(
        "[...document.querySelectorAll('.chart tspan[style]')]"
        ".every(t => getComputedStyle(t).fontWeight === '700')"
    )
    assert_only_the_map_stylesheet_was_refused(page)

    # The cohort page draws its two charts (plotly.js loaded without defer there).
    page.goto(f"{live_server.url}/cohort/")
    page.wait_for_selector('.chart[data-rendered="true"] svg.main-svg')
    assert_only_the_map_stylesheet_was_refused(page)

    # htmx: typing filters the list through a partial request (hx-headers CSRF,
    # no inline script or style needed).
    page.goto(f"{live_server.url}/patients/")
    with page.expect_request(lambda r: "q=SYN-CSP" in r.url and r.headers.get("hx-request")):
        page.locator("#id_q").fill("SYN-CSP")
    expect(page.locator("#patient-results .count")).to_have_text(re.compile(r"^1 patient"))
    assert page.evaluate("window.__cspViolations") == []  # no plotly.js on this page
    assert errors == []  # no script failed for want of eval or inline code
