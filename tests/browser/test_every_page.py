"""Every page at 1440x900, 1024x768 and 390x844: no horizontal scrolling and
no serious or critical axe-core violation.

axe-core is vendored under tests/browser/vendor/axe-core (with its licence)
and injected into the page by this test only: the app never serves it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SOURCE = AXE.read_text(encoding="utf-8")
VIEWPORTS = [(1440, 900), (1024, 768), (390, 844)]


def _pages(patient, clinic) -> dict[str, str]:
    from patients.models import Visit

    visit = Visit.objects.filter(patient=patient, assessment__isnull=False).order_by("-date").first()
    course = patient.courses.order_by("start").first()
    step = course.dose_steps.order_by("date").last()
    return {
        "patient list": reverse("patients:list"),
        "patient list, filtered": reverse("patients:list") + "?q=SYN&open_flag=on",
        "patient page": reverse("patients:detail", args=[patient.pk]),
        "history": reverse("patients:history", args=[patient.pk]),
        "new patient": reverse("patients:create"),
        "edit patient": reverse("patients:edit", args=[patient.pk]),
        "visit page": reverse("patients:visit", args=[visit.pk]),
        # Units other than the canonical ones: the widest lab table (value, unit and conversion).
        "visit page, labs in other units": reverse(
            "patients:visit", args=[patient.visits.order_by("-date").first().pk]),
        "visit form": reverse("patients:visit_create", args=[patient.pk]),
        "visit form, from the last visit": reverse("patients:visit_create", args=[patient.pk]) + "?from=last",
        "edit visit": reverse("patients:visit_edit", args=[visit.pk]),
        "delete visit": reverse("patients:visit_delete", args=[visit.pk]),
        "start course": reverse("patients:course_start", args=[patient.pk]),
        "change dose": reverse("patients:dose_step_add", args=[course.pk]),
        "correct dose step": reverse("patients:dose_step_edit", args=[step.pk]),
        "remove dose step": reverse("patients:dose_step_delete", args=[step.pk]),
        "correct course": reverse("patients:course_edit", args=[course.pk]),
        "delete course": reverse("patients:course_delete", args=[course.pk]),
        "withdraw": reverse("patients:course_withdraw", args=[course.pk]),
        "needs attention": reverse("scoring:attention"),
        "cohort": reverse("scoring:cohort"),
        "import / export": reverse("exchange:index"),
        "import": reverse("exchange:upload", args=[clinic.pk]),
        "password": reverse("password_change"),
        "not found": "/patients/00000000-0000-0000-0000-000000000000/",
    }


@pytest.fixture
def record(clinic_a):
    """A patient with two courses, a withdrawal, dose steps, labs and a flag."""
    from patients.services import LabInput, record_visit
    from tests.scoring.trend_factories import build_history

    patient = build_history(clinic_a, "SYN-ALL", n_visits=8)
    last = patient.visits.order_by("-date").first()
    record_visit(patient, date=last.date + dt.timedelta(days=1), exam=None,
                 labs=[LabInput(test="anc", value=Decimal("0.8"), unit="×10⁹/L"),
                       LabInput(test="platelets", value=Decimal("40000"), unit="cells/uL"),
                       LabInput(test="c3", value=Decimal("60"), unit="mg/dL"),
                       LabInput(test="creatinine", value=Decimal("1.6"), unit="mg/dL")])
    return patient


def _check(page, name: str, width: int) -> list[str]:
    problems = []
    scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll[0] > scroll[1]:
        problems.append(f"{name} at {width}px: scrollWidth {scroll[0]} > {scroll[1]}")
    header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height")
    if header > 64:  # was 150 px at 390 px before issue 14
        problems.append(f"{name} at {width}px: header {header:.0f} px high")
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self')
    # refuses an injected <script>, and axe must never be served by the app.
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    problems += [f"{name} at {width}px: axe {v}" for v in result]
    return problems


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_every_page_fits_and_passes_axe(sign_in, live_server, clinician_a, clinic_a, record, width, height):
    page = sign_in(clinician_a)
    page.set_viewport_size({"width": width, "height": height})
    problems = []
    for name, url in _pages(record, clinic_a).items():
        response = page.goto(live_server.url + url)
        assert response.status in (200, 404), (name, response.status)
        page.wait_for_load_state("load")
        if "patient page" == name:
            page.wait_for_selector(".chart .main-svg", timeout=15000)
        problems += _check(page, name, width)
    # Signed out: the sign-in page and the signed-out page.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("load")
    problems += _check(page, "signed out", width)
    page.goto(live_server.url + reverse("login"))
    problems += _check(page, "sign in", width)
    assert not problems, "\n".join(problems)


def test_a_viewers_403_page_fits_and_passes_axe(sign_in, live_server, viewer_a, record):
    page = sign_in(viewer_a)
    problems = []
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(live_server.url + reverse("patients:visit_create", args=[record.pk]))
        assert response.status == 403
        problems += _check(page, "403", width)
    assert not problems, "\n".join(problems)
