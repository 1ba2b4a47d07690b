"""Flags in the clinic's day: acknowledging (audited, clinicians only) and the needs-attention page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry as LogEntry
from patients import services as record
from scoring.models import FlagAcknowledgement
from scoring.selectors import (
    attention_rows,
    current_flags,
    patients_with_open_flags,
    timeline_for,
)
from scoring.services import acknowledge_flag
from scoring.state import all_items
from tests.audit_queries import audit_entry_queries
from tests.scoring.trend_factories import build_history, exam_with, origin

pytestmark = pytest.mark.django_db
ATTENTION = reverse("scoring:attention")


def ack_url(patient) -> str:
    return reverse("scoring:acknowledge", args=[patient.pk])


def the_flag(patient):
    (flag,) = current_flags(timeline_for(patient))
    return flag


def the_cytopenia(patient):
    """The history's ANC 0.8 (build_history, day 133): an urgent safety item beside the flag."""
    (item,) = [i for i in all_items(timeline_for(patient), timezone.localdate()) if i.kind == "cytopenia"]
    return item


def acknowledge_safety(patient, user) -> None:
    """Tests of flags alone: the history's cytopenia is seen first."""
    acknowledge_flag(patient, the_cytopenia(patient).key, "Count repeated.", user)


@pytest.fixture
def relapsed(clinic_a):
    return build_history(clinic_a, "SYN-ATT", n_visits=5)


def test_needs_attention_lists_the_patient_until_a_clinician_acknowledges(client_a, relapsed):
    page = client_a.get(ATTENTION)
    assert page.status_code == 200
    html = page.content.decode()
    assert "SYN-ATT" in html and "Relapse after complete response" in html
    assert reverse("patients:detail", args=[relapsed.pk]) in html
    assert set(patients_with_open_flags(relapsed.clinic.memberships.first().user)) == {relapsed.pk}

    flag = the_flag(relapsed)
    response = client_a.post(ack_url(relapsed), {"flag_key": flag.key, "note": "Seen, restart planned."})
    assert response.status_code == 302
    assert response["Location"].endswith(reverse("patients:detail", args=[relapsed.pk]) + "#flags")
    ack = FlagAcknowledgement.objects.get()
    assert (ack.flag_key, ack.kind, ack.note) == (flag.key, flag.kind, "Seen, restart planned.")
    assert str(ack.visit_id) == flag.visit_id
    # The history's ANC 0.8 is still open: the patient stays, for that item alone.
    html = client_a.get(ATTENTION).content.decode()
    assert "SYN-ATT" in html and "Grade 3 neutropenia" in html and "Relapse after complete response" not in html
    item = the_cytopenia(relapsed)
    response = client_a.post(
        ack_url(relapsed), {"flag_key": item.key, "note": "Repeated: 1.4.", "next": ATTENTION}
    )
    assert response.status_code == 302 and response["Location"] == ATTENTION
    ack = FlagAcknowledgement.objects.get(flag_key=item.key)
    assert (ack.kind, ack.note) == ("cytopenia", "Repeated: 1.4.")
    assert "SYN-ATT" not in client_a.get(ATTENTION).content.decode()


def test_a_flag_of_a_new_event_appears_again(client_a, clinician_a, relapsed):
    acknowledge_flag(relapsed, the_flag(relapsed).key, "Seen.", clinician_a)
    acknowledge_safety(relapsed, clinician_a)
    assert attention_rows(clinician_a) == []
    # The second course (running from O+161) is withdrawn in CR, and the skin comes back.
    o = origin()
    course = relapsed.courses.get(end__isnull=True)
    record.record_visit(relapsed, date=o + dt.timedelta(days=300), exam=exam_with(0))
    record.withdraw(course, end=o + dt.timedelta(days=300), stop_reason="remission")
    record.record_visit(relapsed, date=o + dt.timedelta(days=320), exam=exam_with(2))
    (row,) = attention_rows(clinician_a)
    (item,) = row.items  # the acknowledged flag stays acknowledged
    assert (item.kind, item.date) == ("flag", o + dt.timedelta(days=320))


def test_the_attention_page_is_newest_first_and_runs_fixed_queries(
    client_a, clinic_a, django_assert_num_queries
):
    build_history(clinic_a, "SYN-OLD", n_visits=5, o=origin(900))
    build_history(clinic_a, "SYN-NEW", n_visits=5, o=origin(700))
    html = client_a.get(ATTENTION).content.decode()
    assert html.index("SYN-NEW") < html.index("SYN-OLD")
    # session, user; the stored state: any stale row (none), the count, the page
    # (scoring.selectors.attention_page); plus the audit entry of the patients shown.
    with django_assert_num_queries(5 + audit_entry_queries()) as few:
        client_a.get(ATTENTION)
    for i in range(3):
        build_history(clinic_a, f"SYN-MORE{i}", n_visits=7)
    with django_assert_num_queries(len(few.captured_queries)):
        page = client_a.get(ATTENTION)
    assert page.content.decode().count("<strong>Relapse after complete response</strong>") == 5


def test_other_clinics_see_nothing_and_cannot_acknowledge(outsider_client, relapsed):
    assert "SYN-ATT" not in outsider_client.get(ATTENTION).content.decode()
    flag = the_flag(relapsed)
    assert outsider_client.post(ack_url(relapsed), {"flag_key": flag.key, "note": "x"}).status_code == 404
    assert not FlagAcknowledgement.objects.exists()


def test_a_viewer_sees_the_flag_but_no_form_and_gets_403(viewer_client, relapsed):
    assert "SYN-ATT" in viewer_client.get(ATTENTION).content.decode()
    flag = the_flag(relapsed)
    assert viewer_client.post(ack_url(relapsed), {"flag_key": flag.key, "note": "x"}).status_code == 403
    assert viewer_client.get(ack_url(relapsed)).status_code == 403
    assert not FlagAcknowledgement.objects.exists()


def test_sign_in_is_required(client, relapsed):
    assert client.get(ATTENTION).status_code == 302
    assert client.post(ack_url(relapsed), {"flag_key": "x", "note": "y"}).status_code == 302


def test_a_note_is_required_and_named(client_a, relapsed):
    flag = the_flag(relapsed)
    response = client_a.post(ack_url(relapsed), {"flag_key": flag.key, "note": "   "})
    assert response.status_code == 400
    assert "Note: Write a note" in response.content.decode()
    assert not FlagAcknowledgement.objects.exists()


def test_an_unknown_or_vanished_flag_is_refused_clearly(client_a, relapsed):
    response = client_a.post(ack_url(relapsed), {"flag_key": "nonsense", "note": "Seen."})
    assert response.status_code == 400
    assert "No such flag or safety item in this patient&#x27;s record any more" in response.content.decode()
    # The flag disappears when the visits after the withdrawal are corrected to
    # CLASI-A 0 (the relapse visit, then the next course's baseline, still watched).
    flag = the_flag(relapsed)
    for visit in relapsed.visits.filter(date__gt=flag.event_date):
        record.update_visit(visit, date=visit.date, exam=exam_with(0))
    assert current_flags(timeline_for(relapsed)) == []
    with pytest.raises(ValidationError) as error:
        acknowledge_flag(relapsed, flag.key, "Seen.", relapsed.clinic.memberships.first().user)
    assert "flag_key" in error.value.error_dict
    assert not FlagAcknowledgement.objects.exists()


def test_a_second_acknowledgement_is_refused_and_the_first_note_kept(client_a, clinician_a, relapsed):
    flag = the_flag(relapsed)
    acknowledge_flag(relapsed, flag.key, "First.", clinician_a)
    response = client_a.post(ack_url(relapsed), {"flag_key": flag.key, "note": "Second."})
    assert response.status_code == 400
    assert "already acknowledged by ana.clinician" in response.content.decode()
    assert list(FlagAcknowledgement.objects.values_list("note", flat=True)) == ["First."]


def test_the_acknowledgement_is_audited(client_a, clinician_a, relapsed):
    flag = the_flag(relapsed)
    client_a.post(ack_url(relapsed), {"flag_key": flag.key, "note": "Seen."})
    entry = LogEntry.objects.get_for_model(FlagAcknowledgement).get()
    assert entry.actor == clinician_a and entry.additional_data == {"patient": str(relapsed.pk)}


def test_htmx_acknowledge_swaps_the_analysis_with_the_flag_in_history(client_a, clinician_a, relapsed):
    acknowledge_safety(relapsed, clinician_a)
    flag = the_flag(relapsed)
    response = client_a.post(
        ack_url(relapsed), {"flag_key": flag.key, "note": "Seen."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="patient-analysis"')
    assert "Acknowledged flags (2)" in html and "<q>Seen.</q>" in html
    assert 'name="flag_key"' not in html  # no open flag left to acknowledge
    assert "<script>" not in html  # only the JSON of the figure, never code
    # The chart's text alternative comes back with it (it vanished from the swapped section).
    assert 'data-testid="chart-table"' in html and "Relapse after complete response" in html.split(
        'data-testid="chart-table"')[1]
    # Errors come back in the same section, by the flag's form, nothing written.
    bad = client_a.post(ack_url(relapsed), {"flag_key": flag.key, "note": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "already acknowledged by ana.clinician" in bad.content.decode()
    assert FlagAcknowledgement.objects.count() == 2  # the cytopenia's and the flag's


def test_the_acknowledge_page_works_without_js(client_a, relapsed):
    flag = the_flag(relapsed)
    page = client_a.get(ack_url(relapsed) + f"?flag={flag.key}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{flag.key}"' in html and 'method="post"' in html
    assert '<label for="ack-note-1">' in html


def test_the_patient_list_shows_each_patients_open_flag_until_acknowledged(
    client_a, clinician_a, relapsed, patient_a
):
    listing = client_a.get(reverse("patients:list")).content.decode()
    # The most urgent item first: the ANC 0.8, then "+1" for the flag.
    assert "Grade 3 neutropenia +1" in listing
    assert listing.count("flag-badge") == 1  # patient_a has no flag
    acknowledge_safety(relapsed, clinician_a)
    assert "Relapse after complete response" in client_a.get(reverse("patients:list")).content.decode()
    acknowledge_flag(relapsed, the_flag(relapsed).key, "Seen.", clinician_a)
    assert "flag-badge" not in client_a.get(reverse("patients:list")).content.decode()
