"""No lost updates (issue 12): two clinicians, two browsers, one record.

A save read at an older version is refused with the other person's change
beside what was typed; a deleted record stays deleted; on PostgreSQL two real
concurrent transactions on one visit give one save and one refusal.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from patients import services
from patients.models import Course, DoseStep, Patient, Visit
from clinical.instruments.exam import parse_exam
from tests.conftest import _member


@pytest.fixture
def colleague(clinic_a):
    return _member("bruno.colleague", clinic_a, "clinician")


@pytest.fixture
def colleague_client(colleague):
    c = Client()
    c.force_login(colleague)
    return c


@pytest.fixture
def visit(patient_a):
    return services.record_visit(
        patient_a, date=dt.date(2025, 2, 3), note="Seen in clinic",
        exam=parse_exam({"areas": {"legs": {"erythema": 1}}}),
    )


def read_version(response) -> str:
    """The version the page's form was read at (its hidden field)."""
    match = re.search(r'<input type="hidden" name="version" value="(\d+)"', response.content.decode())
    assert match, "the edit form carries no version"
    return match.group(1)


def diff_rows(response) -> dict[str, tuple[str, str]]:
    """{field label: (saved now, yours)} of the side-by-side of a refused save."""
    page = response.content.decode()
    rows = re.findall(
        r'<tr><th scope="row">(.*?)</th><td class="theirs">(.*?)</td><td class="yours">(.*?)</td></tr>',
        page, re.S,
    )
    return {html.unescape(label): (html.unescape(theirs), html.unescape(yours))
            for label, theirs, yours in rows}


def visit_post(version: str, note: str, legs_erythema: str) -> dict:
    return {"date": "2025-02-03", "note": note, "clasi-legs-erythema": legs_erythema,
            "version": version}


# -- a stale save is refused, both versions shown, nothing typed lost --------------


@pytest.mark.django_db
def test_a_stale_visit_save_is_refused_with_both_versions_shown(client_a, colleague_client, visit):
    url = reverse("patients:visit_edit", args=[visit.pk])
    mine, theirs = read_version(client_a.get(url)), read_version(colleague_client.get(url))
    assert mine == theirs == "1"

    assert colleague_client.post(url, visit_post(theirs, "Improving on treatment", "3")).status_code == 302
    refused = client_a.post(url, visit_post(mine, "Worse since last visit", "2"))

    assert refused.status_code == 409
    visit.refresh_from_db()
    assert visit.note == "Improving on treatment" and visit.version == 2
    assert visit.assessment.items["areas"]["legs"]["erythema"] == 3
    page = refused.content.decode()
    assert "bruno.colleague changed this visit while you were editing it" in page
    assert "Yours was not saved" in page
    rows = diff_rows(refused)
    assert rows["Note"] == ("Improving on treatment", "Worse since last visit")
    assert rows["Legs: Erythema"][0].startswith("3") and rows["Legs: Erythema"][1].startswith("2")
    assert "Date" not in rows  # only what differs
    # What was typed is still in the form; the hidden field now holds the current version.
    assert "Worse since last visit</textarea>" in page
    assert 'name="clasi-legs-erythema" id="id_clasi-legs-erythema" value="2"' in page
    assert read_version(refused) == "2"

    # "Save mine over version 2": the same form posted again, deliberately.
    assert client_a.post(url, visit_post(read_version(refused), "Worse since last visit", "2")).status_code == 302
    visit.refresh_from_db()
    assert visit.note == "Worse since last visit" and visit.version == 3
    assert visit.assessment.items["areas"]["legs"]["erythema"] == 2


@pytest.mark.django_db
def test_a_stale_course_save_cannot_undo_a_withdrawal(client_a, colleague_client, course_a):
    edit_url = reverse("patients:course_edit", args=[course_a.pk])
    mine = read_version(client_a.get(edit_url))
    withdraw_url = reverse("patients:course_withdraw", args=[course_a.pk])
    theirs = read_version(colleague_client.get(withdraw_url))
    assert colleague_client.post(
        withdraw_url, {"end": "2025-03-01", "stop_reason": "adverse_event", "version": theirs}
    ).status_code == 302

    # Ana corrects the start date on a page read before the withdrawal.
    refused = client_a.post(edit_url, {"start": "2025-01-07", "end": "", "stop_reason": "", "version": mine})

    assert refused.status_code == 409
    course_a.refresh_from_db()
    assert (course_a.start, course_a.end, course_a.stop_reason) == (
        dt.date(2025, 1, 6), dt.date(2025, 3, 1), "adverse_event")
    rows = diff_rows(refused)
    assert rows["Start date"] == ("2025-01-06", "2025-01-07")
    assert rows["Withdrawal date"] == ("2025-03-01", "—")
    assert rows["Reason"] == ("Adverse event", "—")
    assert "bruno.colleague changed this course" in refused.content.decode()
    assert 'value="2025-01-07"' in refused.content.decode()


@pytest.mark.django_db
def test_a_dose_decided_on_a_stale_page_is_refused(client_a, colleague_client, patient_a, course_a):
    detail = reverse("patients:detail", args=[patient_a.pk])
    url = reverse("patients:dose_step_add", args=[course_a.pk])
    # The inline dose form under the course, fetched (htmx) from the URL the page
    # gives it when "Change the dose" is opened, after the colleague's save below.
    inline = re.search(rf'hx-get="({re.escape(url)}\?inline=1&amp;version=\d+)"',
                       client_a.get(detail).content.decode()).group(1).replace("&amp;", "&")
    assert colleague_client.post(url, {"date": "2025-02-01", "mg": "10", "every_days": "1",
                                       "version": read_version(colleague_client.get(url))}).status_code == 302

    mine = read_version(client_a.get(inline, headers={"HX-Request": "true"}))  # opened late: still the page's
    refused = client_a.post(url, {"date": "2025-02-02", "mg": "15", "every_days": "1", "version": mine})

    assert refused.status_code == 409
    assert list(DoseStep.objects.filter(course=course_a).order_by("date").values_list("mg", flat=True)) == [
        Decimal("5"), Decimal("10")]
    rows = diff_rows(refused)
    assert rows["Dose (mg)"] == ("10", "15") and rows["From"] == ("2025-02-01", "2025-02-02")


@pytest.mark.django_db
def test_a_stale_patient_save_cannot_erase_an_sle_diagnosis(client_a, colleague_client, patient_a):
    url = reverse("patients:edit", args=[patient_a.pk])
    mine, theirs = read_version(client_a.get(url)), read_version(colleague_client.get(url))
    base = {"code": "SYN-001", "name": "Synthetic Patient", "sex": "F", "birth_date": "1980-01-15",
            "cle_subtypes": ["DLE"], "reproductive_potential": "on", "note": ""}
    assert colleague_client.post(url, base | {"sle": "on", "sle_diagnosed": "2024-05-01",
                                              "version": theirs}).status_code == 302

    refused = client_a.post(url, base | {"name": "Synthetic P. Renamed", "version": mine})

    assert refused.status_code == 409
    patient_a.refresh_from_db()
    assert patient_a.sle and patient_a.sle_diagnosed == dt.date(2024, 5, 1)
    assert patient_a.name == "Synthetic Patient"
    rows = diff_rows(refused)
    assert rows["SLE"] == ("Yes", "No")
    assert rows["SLE diagnosed on"] == ("2024-05-01", "—")
    assert rows["Display name (optional)"] == ("Synthetic Patient", "Synthetic P. Renamed")
    assert 'value="Synthetic P. Renamed"' in refused.content.decode()


@pytest.mark.django_db
def test_an_edit_posted_without_its_version_is_refused_and_writes_nothing(client_a, visit):
    url = reverse("patients:visit_edit", args=[visit.pk])
    response = client_a.post(url, {"date": "2025-02-03", "note": "No version"})
    assert response.status_code == 400
    assert "not read from the current record" in response.content.decode()
    visit.refresh_from_db()
    assert visit.note == "Seen in clinic" and visit.version == 1


@pytest.mark.django_db
def test_services_bump_the_version_of_what_the_form_shows(patient_a, course_a, visit):
    services.update_visit(visit, date=visit.date, note="x", version=1)
    assert Visit.objects.get(pk=visit.pk).version == 2
    step = services.add_dose_step(course_a, date=dt.date(2025, 2, 1), mg=Decimal("10"), version=1)
    services.update_dose_step(step, date=step.date, mg=Decimal("7.5"), every_days=1, version=2)
    services.remove_dose_step(step)
    services.withdraw(course_a, end=dt.date(2025, 3, 1), stop_reason="remission", version=4)
    assert Course.objects.get(pk=course_a.pk).version == 5
    # Writes elsewhere in the record leave the patient form's version alone.
    assert Patient.objects.get(pk=patient_a.pk).version == 1
    with pytest.raises(services_stale()):
        services.update_course(course_a, start=course_a.start, end=None, stop_reason="", version=4)


def services_stale():
    from patients.concurrency import StaleEdit

    return StaleEdit


# -- a deleted record stays deleted ---------------------------------------------------------


@pytest.mark.django_db
def test_a_deleted_visit_cannot_come_back(client_a, colleague_client, outsider_client, visit):
    edit_url = reverse("patients:visit_edit", args=[visit.pk])
    mine = read_version(client_a.get(edit_url))
    assert colleague_client.post(reverse("patients:visit_delete", args=[visit.pk])).status_code == 302

    response = client_a.post(edit_url, visit_post(mine, "Typed after the deletion", "2"))

    assert response.status_code == 410
    assert not Visit.objects.filter(pk=visit.pk).exists()
    page = response.content.decode()
    assert "This visit was deleted" in page and "bruno.colleague deleted" in page
    # Deleting it again: the same clear page, no 500; an outsider learns nothing.
    assert client_a.post(reverse("patients:visit_delete", args=[visit.pk])).status_code == 410
    assert outsider_client.post(edit_url, visit_post(mine, "x", "1")).status_code == 404


@pytest.mark.django_db
def test_an_update_racing_a_delete_never_reinserts(visit, course_a):
    from patients.concurrency import RecordGone

    stale_visit, stale_course = Visit.objects.get(pk=visit.pk), Course.objects.get(pk=course_a.pk)
    services.delete_visit(visit)
    services.delete_course(course_a)
    with pytest.raises(RecordGone):
        services.update_visit(stale_visit, date=stale_visit.date, note="back?", version=1)
    with pytest.raises(RecordGone):
        services.withdraw(stale_course, end=dt.date(2025, 3, 1), stop_reason="remission")
    with pytest.raises(RecordGone):
        services.delete_visit(stale_visit)
    assert not Visit.objects.exists() and not Course.objects.exists()


@pytest.mark.django_db
def test_deleting_a_deleted_course_or_dose_step_answers_a_clear_page(client_a, colleague_client, course_a):
    step = services.add_dose_step(course_a, date=dt.date(2025, 2, 1), mg=Decimal("10"))
    step_url = reverse("patients:dose_step_delete", args=[step.pk])
    assert colleague_client.post(step_url).status_code == 302
    assert client_a.post(step_url).status_code == 410
    course_url = reverse("patients:course_delete", args=[course_a.pk])
    assert colleague_client.post(course_url).status_code == 302
    again = client_a.post(course_url)
    assert again.status_code == 410 and "bruno.colleague deleted" in again.content.decode()
    assert client_a.post(reverse("patients:course_edit", args=[course_a.pk]),
                         {"start": "2025-01-06", "version": "1"}).status_code == 410
    assert not Course.objects.exists()


# -- two real transactions at once (PostgreSQL row locks) ------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite has no row locks (SELECT FOR UPDATE is a no-op): run with DATABASE_URL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_visit_saves_one_wins_one_is_refused(
    clinician_a, colleague, visit, monkeypatch
):
    # Hold each save inside its transaction for a while, so both requests are in
    # flight together: without the check under the lock, both would read version 1.
    write_children = services._write_visit_children

    def slow_write(*args, **kwargs):
        time.sleep(0.5)
        return write_children(*args, **kwargs)

    monkeypatch.setattr(services, "_write_visit_children", slow_write)
    url = reverse("patients:visit_edit", args=[visit.pk])
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def save(user, note: str, erythema: str) -> None:
        try:
            client = Client()
            client.force_login(user)
            start.wait()
            results[note] = client.post(url, visit_post("1", note, erythema))
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=save, args=(clinician_a, "Saved by Ana", "2")),
               threading.Thread(target=save, args=(colleague, "Saved by Bruno", "3"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [302, 409]
    winner = next(note for note, r in results.items() if r.status_code == 302)
    loser = next(note for note, r in results.items() if r.status_code == 409)
    visit.refresh_from_db()
    assert visit.note == winner and visit.version == 2
    assert visit.assessment.items["areas"]["legs"]["erythema"] == (2 if "Ana" in winner else 3)
    # Nothing lost: the refused page holds the loser's text and shows the winner's.
    assert diff_rows(results[loser])["Note"] == (winner, loser)
    assert f"{loser}</textarea>" in results[loser].content.decode()


@pytest.mark.django_db
def test_a_replace_import_makes_open_edit_forms_stale(client_a, clinic_a, patient_a, visit):
    from patients.exchange.importer import import_document

    patient_url = reverse("patients:edit", args=[patient_a.pk])
    visit_url = reverse("patients:visit_edit", args=[visit.pk])
    patient_version, visit_version = read_version(client_a.get(patient_url)), read_version(client_a.get(visit_url))
    import_document({"format": "cle-tracker/1", "clinic": clinic_a.name, "patients": [
        {"code": "SYN-001", "sex": "F", "name": "Imported Name", "visits": [], "courses": []}]},
        clinic=clinic_a, existing="update")

    refused = client_a.post(patient_url, {"code": "SYN-001", "name": "Typed Name", "sex": "F",
                                          "version": patient_version})
    assert refused.status_code == 409
    assert diff_rows(refused)["Display name (optional)"] == ("Imported Name", "Typed Name")
    assert Patient.objects.get(pk=patient_a.pk).name == "Imported Name"
    # The import replaced the visits: the old one is gone and stays gone.
    # The replace import deletes without one audit entry per row (audit app), so
    # the page cannot name who deleted it: a plain 404; the visit stays deleted.
    assert client_a.post(visit_url, visit_post(visit_version, "x", "1")).status_code == 404
    assert not Visit.objects.filter(pk=visit.pk).exists()


@pytest.mark.django_db
def test_the_live_preview_warns_once_someone_else_saved(client_a, colleague_client, visit):
    url = reverse("patients:visit_edit", args=[visit.pk])
    preview = reverse("patients:visit_edit_preview", args=[visit.pk])
    mine = read_version(client_a.get(url))
    assert 'data-testid="newer"' not in client_a.post(preview, visit_post(mine, "", "2")).content.decode()
    colleague_client.post(url, visit_post(read_version(colleague_client.get(url)), "Theirs", "3"))
    warned = client_a.post(preview, visit_post(mine, "", "2")).content.decode()
    assert "bruno.colleague saved this visit" in warned
    assert Visit.objects.get(pk=visit.pk).note == "Theirs"


@pytest.mark.django_db
def test_the_check_costs_one_locked_read_and_a_refusal_writes_nothing(visit):
    from django.test.utils import CaptureQueriesContext

    from patients.concurrency import StaleEdit

    with CaptureQueriesContext(connection) as refused:
        with pytest.raises(StaleEdit):
            services.update_visit(visit, date=visit.date, note="stale", version=7)
    statements = [q["sql"].split()[0].upper() for q in refused.captured_queries]
    # The patient's row lock (taken before), the visit's: refused before any write.
    assert statements.count("SELECT") == 2
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    if connection.vendor == "postgresql":
        assert all(q["sql"].endswith("FOR UPDATE") for q in refused.captured_queries
                   if q["sql"].startswith("SELECT"))


@pytest.mark.django_db
def test_a_skipped_examination_is_one_row_not_one_per_cell(client_a, colleague_client, visit):
    url = reverse("patients:visit_edit", args=[visit.pk])
    mine = read_version(client_a.get(url))
    theirs = read_version(colleague_client.get(url))
    assert colleague_client.post(url, {"date": "2025-02-03", "note": "Seen in clinic", "clasi-skip": "on", "version": theirs}).status_code == 302
    refused = client_a.post(url, visit_post(mine, "Seen in clinic", "2"))
    assert refused.status_code == 409
    assert diff_rows(refused) == {"CLASI examination": ("not done", "recorded")}
