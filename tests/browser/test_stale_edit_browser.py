"""Two clinicians edit one visit in two browsers (issue 12, no lost updates).

The later save is refused with the earlier one shown beside what was typed;
nothing typed is lost, and the button saves it deliberately over the current
version. With JavaScript on (htmx live preview running) and off.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.urls import reverse

from tests.browser.conftest import sign_in_through_form
from tests.conftest import _member

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_later_of_two_visit_saves_is_refused_then_saved_deliberately(
    browser, live_server, transactional_db, clinic_a, clinician_a, patient_a, javascript
):
    from patients.models import Visit
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    colleague = _member("bruno.colleague", clinic_a, "clinician")
    visit = record_visit(patient_a, date=dt.date(2025, 2, 3), note="Seen in clinic",
                         exam=parse_exam({"areas": {"legs": {"erythema": 1}}}))
    url = live_server.url + reverse("patients:visit_edit", args=[visit.pk])
    contexts = [browser.new_context(java_script_enabled=javascript) for _ in range(2)]
    try:
        ana, bruno = (context.new_page() for context in contexts)
        sign_in_through_form(ana, live_server, clinician_a.get_username())
        sign_in_through_form(bruno, live_server, colleague.get_username())
        ana.goto(url)
        bruno.goto(url)  # both pages hold version 1

        bruno.fill("#id_note", "Improving on treatment")
        bruno.get_by_role("button", name="Save visit").click()
        bruno.wait_for_url(f"{live_server.url}/patients/visits/{visit.pk}/")

        ana.fill("#id_clasi-legs-erythema", "2")
        if javascript:
            # The live preview (htmx) says so before Save is pressed.
            newer = ana.locator("#score-panel [data-testid=newer]")
            newer.wait_for()
            assert "bruno.colleague saved this visit" in newer.inner_text()
        ana.fill("#id_note", "Worse since last visit")
        ana.get_by_role("button", name="Save visit").click()

        conflict = ana.locator("[data-testid=conflict]")
        conflict.wait_for()
        assert "bruno.colleague changed this visit while you were editing it" in conflict.inner_text()
        note_row = conflict.locator("tr", has=ana.locator("th", has_text="Note"))
        assert note_row.locator("td.theirs").inner_text() == "Improving on treatment"
        assert note_row.locator("td.yours").inner_text() == "Worse since last visit"
        # Nothing typed is lost: the form still holds Ana's values.
        assert ana.input_value("#id_note") == "Worse since last visit"
        assert ana.input_value("#id_clasi-legs-erythema") == "2"
        visit.refresh_from_db()
        assert visit.note == "Improving on treatment"
        if os.environ.get("SCREENSHOTS"):
            ana.screenshot(path=os.environ["SCREENSHOTS"] + f"/stale-visit-{javascript}.png", full_page=True)

        ana.get_by_role("button", name="Save mine over version 2").click()
        ana.wait_for_url(f"{live_server.url}/patients/visits/{visit.pk}/")
        visit = Visit.objects.get(pk=visit.pk)
        assert visit.note == "Worse since last visit" and visit.version == 3
        assert visit.assessment.items["areas"]["legs"]["erythema"] == 2
    finally:
        for context in contexts:
            context.close()
