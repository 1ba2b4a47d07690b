"""cohort_report --drug / --as-of and the cohort page's paper sections.

The hand-built cohort and its hand-computed report live in test_cohort_report.py;
here: the demo clinic carries every key of the doc, bad input is a clear
message, and the page shows the command's numbers section by section.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from patients.exchange import import_document
from tests.clinical.test_report_sections import DOC_EXAMPLE_KEYS
from tests.scoring.test_cohort_report import EXPECTED, HAND_COHORT

URL = reverse("scoring:cohort")


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("cohort_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def hand_a(clinic_a):
    import_document(json.loads(json.dumps(HAND_COHORT)), clinic=clinic_a)
    return clinic_a


def _thalidomide_patient(code: str = "T1") -> dict:
    return {
        "code": code,
        "sex": "F",
        "courses": [
            {
                "drug": "thalidomide",
                "start": "2025-05-05",
                "end": "2025-07-28",
                "stop_reason": "remission",
                "doses": [{"date": "2025-05-05", "mg": 100, "every_days": 1}],
            }
        ],
        "visits": [
            {"date": "2025-05-05", "clasi": {"areas": {"scalp": {"erythema": 3}}}},
            {"date": "2025-06-02", "clasi": {"areas": {}}},
        ],
    }


# ---------------------------------------------------------------- the command


def test_the_demo_clinic_report_has_every_key_of_the_doc(db):
    from patients.demo import load_demo_cohort

    load_demo_cohort("Demo lupus clinic", io.StringIO())
    report = json.loads(
        command("--clinic", "Demo lupus clinic", "--format", "json", "--as-of", "2026-11-24")
    )
    assert list(report) == DOC_EXAMPLE_KEYS
    # The demo has the things every section needs, so none is trivially empty.
    assert report["evaluable_courses"] > 0 and report["adverse_events"]
    assert report["mean_activity_by_week"]["2"]["n"] > 0 and report["max_daily_dose"]
    assert report["follow_up_weeks"]["max"] is not None


def test_drug_selects_the_watched_drug(hand_a):
    import_document(
        {"format": "cle-tracker/2", "clinic": hand_a.name, "patients": [_thalidomide_patient()]},
        clinic=hand_a,
    )
    report = json.loads(
        command("--clinic", hand_a.name, "--format", "json", "--drug", "thalidomide",
                "--as-of", "2026-01-01")
    )
    # T1: baseline 3 on the start day, 0 four weeks later (day 28): CR at week 4.
    assert report["drug"] == "thalidomide"
    assert (report["courses"], report["patients"]) == (1, 7)  # every patient of the clinic
    assert report["patients_complete_response"] == 1
    assert report["weeks_to_complete_response"] == {"min": 4, "median": 4, "max": 4}
    assert report["max_daily_dose"] == {"100": 1}
    text = command("--clinic", hand_a.name, "--drug", "thalidomide", "--as-of", "2026-01-01")
    assert text.startswith("Thalidomide for cutaneous lupus") and "Thalidomide courses" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--drug", "aspirin"), "--drug: 'aspirin' is not a watched drug"),
        (("--drug", "Lenalidomid"), "choose one of lenalidomide, thalidomide"),
        (("--as-of", "31/12/2025"), "--as-of: '31/12/2025' is not a date"),
        (("--as-of", "2025-02-30"), "--as-of"),
        (("--as-of", "2024-01-01"), "has no lenalidomide course recorded by 2024-01-01"),
        (("--drug", "thalidomide"), "has no thalidomide course"),
    ],
)
def test_bad_input_is_a_clear_message(hand_a, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        command("--clinic", hand_a.name, "--format", "json", *args)


def test_a_clinic_with_no_courses_is_a_clear_message(clinic_b):
    with pytest.raises(CommandError, match="has no lenalidomide course"):
        command("--clinic", clinic_b.name, "--format", "text")


# ---------------------------------------------------------------- the page


def test_the_page_shows_the_commands_numbers_in_every_section(client_a, hand_a):
    report = json.loads(command("--clinic", hand_a.name, "--format", "json", "--as-of", "2026-01-01"))
    assert report == EXPECTED
    response = client_a.get(URL, {"as_of": "2026-01-01"})
    assert response.context["report"] == report  # the same function, the same answer
    html = response.content.decode()
    for heading in ("Table 1: patients", "Response", "Relapse after withdrawal",
                    "Damage (CLASI-D)", "Adverse events", "Immunology", "Progression to SLE",
                    "Beside the published series"):
        assert f">{heading}</h2>" in html, heading
    # Response: per patient 3 of 5 (60.0%), per course 3 of 5 (60.0%); the times.
    assert html.count("3 of 5 (60.0%)") == 3  # patients, courses, the comparison row
    assert "4 / 4 / 6" in html  # weeks to improvement and to CR
    assert "<th scope=\"row\">Week 4</th><td class=\"num\">1.7</td><td class=\"num\">3</td>" in html
    assert "<th scope=\"row\">Week 12</th><td class=\"num\">–</td><td class=\"num\">0</td>" in html
    # Relapse: 2 of 3 (66.7%), 3 / 5.5 / 8; follow-up 2 / 10.5 / 14; dose 5 mg/day: 5.
    assert "2 of 3 (66.7%)" in html and "3 / 5.5 / 8" in html
    assert "2 / 10.5 / 14" in html and "5 mg/day: 5" in html
    # Empty sections say none.
    adverse = html.split(">Adverse events</h2>", 1)[1].split("</section>")[0]
    sle = html.split(">Progression to SLE</h2>", 1)[1].split("</section>")[0]
    assert "<p>none</p>" in adverse and "<p>none</p>" in sle
    # Published series beside the clinic, "not reported" where a series gave nothing.
    assert "Vall d&#x27;Hebron 2012" in html and "12 of 14 (86%)" in html
    assert "French series of 19" in html and "63%" in html and "not reported" in html
    assert "Arthritis Res Ther 2012;14:R265" in html


def test_the_page_shows_adverse_events_immunology_and_sle(client_a, clinic_a):
    doc = json.loads(json.dumps(HAND_COHORT))
    p1 = doc["patients"][0]
    p1["sle_diagnosed"], p1["sle"] = "2025-06-02", True
    # Labs at baseline (the start day) and on treatment: anti-dsDNA 40 -> 20 IU/mL,
    # C3 90 mg/dL (0.9 g/L canonical) -> 1.1 g/L.
    p1["visits"][0]["labs"] = [
        {"test": "anti_dsdna", "value": 40, "unit": "IU/mL"},
        {"test": "c3", "value": 90, "unit": "mg/dL"},
    ]
    p1["visits"][1]["labs"] = [
        {"test": "anti_dsdna", "value": 20, "unit": "IU/mL"},
        {"test": "c3", "value": 1.1, "unit": "g/L"},
    ]
    p1["visits"][1]["adverse_events"] = [{"term": "Insomnia", "grade": 1}]
    doc["patients"][1]["visits"][1]["adverse_events"] = [{"term": "Insomnia", "grade": 2}]
    import_document(doc, clinic=clinic_a)
    response = client_a.get(URL, {"as_of": "2026-01-01"})
    assert response.context["report"]["adverse_events"] == [
        {"term": "Insomnia", "patients": 2, "max_grade": 2}
    ]
    assert response.context["report"]["progressed_to_sle"] == 1
    html = response.content.decode()
    assert "<td>Insomnia</td><td class=\"num\">2</td><td class=\"num\">2</td>" in html
    rows = {row["test"]: row for row in response.context["immunology"]}
    assert (rows["anti_dsdna"]["n"], str(rows["anti_dsdna"]["baseline_median"]),
            str(rows["anti_dsdna"]["last_median"])) == (1, "40", "20")
    assert (str(rows["c3"]["baseline_median"]), str(rows["c3"]["last_median"])) == ("0.9", "1.1")
    assert rows["c4"]["n"] == 0
    assert "1 patient diagnosed with SLE after the first lenalidomide course started" in html


def test_the_drug_selector_shows_only_with_two_watched_drugs(client_a, hand_a):
    html = client_a.get(URL, {"as_of": "2026-01-01"}).content.decode()
    assert 'name="drug"' in html and '<select name="drug"' not in html  # hidden input only
    import_document(
        {"format": "cle-tracker/2", "clinic": hand_a.name, "patients": [_thalidomide_patient()]},
        clinic=hand_a,
    )
    html = client_a.get(URL, {"as_of": "2026-01-01"}).content.decode()
    assert '<select name="drug" id="id_drug">' in html
    response = client_a.get(URL, {"as_of": "2026-01-01", "drug": "thalidomide"})
    assert response.context["report"]["drug"] == "thalidomide"
    assert response.context["report"]["courses"] == 1
    assert ">Thalidomide</option>" in response.content.decode()


def test_an_unknown_drug_on_the_page_is_a_message_not_a_500(client_a, hand_a):
    response = client_a.get(URL, {"as_of": "2026-01-01", "drug": "aspirin"})
    assert response.status_code == 200
    assert response.context["report"]["drug"] == "lenalidomide"
    assert "Choose one of: Lenalidomide, Thalidomide." in response.content.decode()


def test_an_empty_clinic_page_says_none(client_a, clinic_a):
    html = client_a.get(URL).content.decode()
    for heading in ("Table 1: patients", "Damage (CLASI-D)", "Adverse events", "Progression to SLE"):
        section = html.split(f">{heading}</h2>", 1)[1].split("</section>")[0]
        assert "none" in section, heading


def test_the_rules_run_once_per_request(client_a, hand_a, monkeypatch):
    from clinical.rules import outcomes

    calls = []
    real = outcomes.find_flags
    monkeypatch.setattr(outcomes, "find_flags", lambda *a, **k: calls.append(1) or real(*a, **k))
    client_a.get(URL, {"as_of": "2026-01-01"})
    assert len(calls) == 6  # once per patient of the hand-built clinic
