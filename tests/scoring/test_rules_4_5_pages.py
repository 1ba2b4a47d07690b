"""Rules 4 and 5 on the pages. Rule 5 (loss_of_response_on_treatment) in the clinic's day: the patient page banner,
the trend chart marker, the course table, the visit page, the needs-attention page and
the acknowledgement, like every other flag.

The patient (O = 200 days ago): lenalidomide 10 mg daily from O, running; CLASI-A 14
on O-3 (baseline), 4 on O+28 (a fall of 10: the MCID), 9 on O+84: 5 points and 125%
above the lowest earlier on-treatment CLASI-A 4 -> loss of response on treatment,
84 // 7 = 12 weeks after the start.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from patients import services
from scoring.models import FlagAcknowledgement
from scoring.selectors import attention_rows, current_flags, timeline_for
from tests.scoring.trend_factories import exam_with, origin

pytestmark = pytest.mark.django_db
ATTENTION = reverse("scoring:attention")
LABEL = "Loss of response on treatment (exploratory)"


def _figure(page) -> dict:
    """The trend figure as the page sends it (json_script; the page caches it rendered)."""
    html = page.content.decode()
    start = html.index('<script id="trend-figure" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


@pytest.fixture
def escaped(clinic_a):
    o = origin(200)
    patient = services.create_patient(clinic_a, code="SYN-LOR", name="", sex="F")
    services.start_course(patient, start=o, mg=Decimal("10"), every_days=1)
    for days, activity in ((-3, 14), (28, 4), (84, 9)):
        services.record_visit(patient, date=o + dt.timedelta(days=days), exam=exam_with(activity))
    return patient, o


def test_the_flag_and_its_words(escaped):
    patient, o = escaped
    (flag,) = current_flags(timeline_for(patient))
    assert (flag.kind, flag.key) == ("loss_of_response_on_treatment", f"on_treatment:{o.isoformat()}")
    assert (flag.date, flag.weeks_after, flag.activity, flag.reference_activity) == (
        o + dt.timedelta(days=84), 12, 9, 4,
    )


def test_the_patient_page_shows_the_banner_the_marker_and_the_course_row(client_a, escaped):
    patient, o = escaped
    page = client_a.get(reverse("patients:detail", args=[patient.pk]))
    html = page.content.decode()
    start = o.isoformat()
    assert LABEL in html
    assert (
        f'<strong>12 weeks</strong> after the start of the lenalidomide course of '
        f'<time datetime="{start}">{start}</time>'
    ) in html
    # +5 points over 4 = +125%.
    assert "lowest on-treatment CLASI-A before this visit was 4 (+5 points, +125%)." in html
    # The course table names it under the running course.
    assert f"{LABEL}, 12 wk after the start (CLASI-A 9 on" in html
    # The trend chart: a flag marker at the visit, its hover the flag's description.
    (marker,) = [t for t in _figure(page)["data"] if t["name"] == "Flare flag"]
    flagged = (o + dt.timedelta(days=84)).isoformat()
    assert marker["y"] == [9] and marker["x"][0].startswith(flagged)
    assert marker["text"] == [
        f"{LABEL}: CLASI-A 9 at the visit of {flagged}, 12 weeks after the start of "
        f"lenalidomide on {start} (lowest earlier on-treatment CLASI-A: 4)"
    ]


def test_the_visit_pages_say_which_visit_raised_it(client_a, escaped):
    patient, o = escaped
    flagged = patient.visits.get(date=o + dt.timedelta(days=84))
    html = client_a.get(reverse("patients:visit", args=[flagged.pk])).content.decode()
    assert f"This visit raised a flag: {LABEL}" in html
    assert "12 wk after the start of the lenalidomide course of" in html
    # A visit between the start and the flag lies in no watch window: no flag there.
    earlier = patient.visits.get(date=o + dt.timedelta(days=28))
    html = client_a.get(reverse("patients:visit", args=[earlier.pk])).content.decode()
    assert 'data-testid="visit-flag"' not in html


def test_needs_attention_lists_it_until_acknowledged(client_a, clinician_a, escaped):
    patient, o = escaped
    html = client_a.get(ATTENTION).content.decode()
    assert "SYN-LOR" in html and LABEL in html
    # The worklist row's evidence is the flag's one description (Flag.description).
    assert f"12 weeks after the start of lenalidomide on {o.isoformat()}" in html
    (row,) = attention_rows(clinician_a)
    assert [i.flag_kind for i in row.items] == ["loss_of_response_on_treatment"]

    key = f"on_treatment:{o.isoformat()}"
    response = client_a.post(
        reverse("scoring:acknowledge", args=[patient.pk]), {"flag_key": key, "note": "Dose up."}
    )
    assert response.status_code == 302
    ack = FlagAcknowledgement.objects.get()
    assert (ack.flag_key, ack.kind, ack.note) == (key, "loss_of_response_on_treatment", "Dose up.")
    assert "SYN-LOR" not in client_a.get(ATTENTION).content.decode()
    page = client_a.get(reverse("patients:detail", args=[patient.pk]))
    assert "Acknowledged flags (1)" in page.content.decode()
    names = [t["name"] for t in _figure(page)["data"]]
    assert "Flare flag (acknowledged)" in names and "Flare flag" not in names

    # A later escape of the same course is the same event (at most one per course): the
    # acknowledgement still holds.
    services.record_visit(patient, date=o + dt.timedelta(days=112), exam=exam_with(15))
    assert attention_rows(clinician_a) == []


def test_a_restart_relapse_is_named_in_the_course_table(client_a, clinic_a):
    # Lenalidomide O..O+84 withdrawn in CR (12 -> 0 -> 0 on the withdrawal day), restarted
    # on O+100 with no CLASI in between: no flag, but rule 4 counts a relapse on O+100,
    # 16 days = 2 weeks after the withdrawal.
    o = origin(300)
    patient = services.create_patient(clinic_a, code="SYN-RST", name="", sex="F")
    first = services.start_course(patient, start=o, mg=Decimal("10"), every_days=1)
    for days, activity in ((0, 12), (28, 0), (84, 0)):
        services.record_visit(patient, date=o + dt.timedelta(days=days), exam=exam_with(activity))
    services.withdraw(first, end=o + dt.timedelta(days=84), stop_reason="remission")
    services.start_course(patient, start=o + dt.timedelta(days=100), mg=Decimal("5"), every_days=1)
    assert current_flags(timeline_for(patient)) == []
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    restart = (o + dt.timedelta(days=100)).isoformat()
    assert (
        f'<strong>Relapse counted at the restart</strong> of <time datetime="{restart}">'
        f"{restart}</time>, 2 wk after withdrawal (no flag)"
    ) in html
