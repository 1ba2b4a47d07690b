"""Every form, in a real browser: each input is labelled, and the visit form
saves with JavaScript switched off (a plain POST, messages by the field)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from tests.browser.conftest import sign_in_through_form

pytestmark = pytest.mark.browser

# Each visible control must have an accessible name: a <label>, aria-label or aria-labelledby.
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""


def test_every_input_of_every_form_has_a_label(
    page, live_server, transactional_db, clinician_a, patient_a, course_a
):
    from patients.services import record_visit

    visit = record_visit(patient_a, date=dt.date(2025, 2, 3), clinician=clinician_a)
    sign_in_through_form(page, live_server, clinician_a.get_username())
    urls = [
        reverse("patients:list"),
        reverse("patients:create"),
        reverse("patients:edit", args=[patient_a.pk]),
        reverse("patients:visit_create", args=[patient_a.pk]),
        reverse("patients:visit_edit", args=[visit.pk]),
        reverse("patients:course_start", args=[patient_a.pk]),
        reverse("patients:dose_step_add", args=[course_a.pk]),
        reverse("patients:course_withdraw", args=[course_a.pk]),
        reverse("patients:course_edit", args=[course_a.pk]),
    ]
    for url in urls:
        page.goto(live_server.url + url)
        assert page.evaluate(UNLABELLED) == [], url


@pytest.fixture
def no_js_page(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_the_visit_form_works_with_javascript_off(
    no_js_page, live_server, transactional_db, clinician_a, patient_a
):
    from patients.models import Visit

    page = no_js_page
    sign_in_through_form(page, live_server, clinician_a.get_username())
    page.goto(live_server.url + reverse("patients:visit_create", args=[patient_a.pk]))
    page.fill("#id_clasi-ears-erythema", "9")  # not an erythema value
    page.fill("#id_clasi-ears-scale", "2")
    page.get_by_role("button", name="Save visit").click()
    # The server answered the plain POST with the form again, the message by the
    # cell, what was typed kept, and nothing saved.
    assert page.locator("#id_clasi-ears-scale").input_value() == "2"
    assert "9 is not one of 0, 1, 2, 3" in page.content()
    assert Visit.objects.count() == 0
    page.fill("#id_clasi-ears-erythema", "3")
    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url(re.compile(r"/patients/visits/[0-9a-f-]{36}/$"))
    assert "Visit of" in page.content()
    assessment = Visit.objects.get().assessment
    assert (assessment.activity, assessment.damage) == (5, 0)  # ears erythema 3 + scale 2
