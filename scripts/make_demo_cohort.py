#!/usr/bin/env python3
"""Generate the synthetic demo cohort as a cle-tracker/2 document (seeded, reproducible).

    python scripts/make_demo_cohort.py > patients/demo_cohort.json
    python scripts/make_demo_cohort.py --format 1 > tests/fixtures/demo_cohort_v1.json
    python scripts/make_demo_cohort.py --patients 2000 --visits 20 --seed 7 > big.json

Never real patients. The default cohort looks like the clinic of
Cortes-Hernandez 2012 (clasi.md section 4): about 15 women with refractory CLE
of several subtypes, lenalidomide 5 mg/day, raised to 10 mg where it had not
helped after 4 weeks, tapered month by month after clearing (5 mg, then 5 mg
on alternate days), withdrawn; most relapse 2-8 weeks later; one stopped early
for an adverse event, a partial and a non-responder (panniculitis, as in the
Mayo series); labs at visits; a few minor side effects. Dates are fixed (not
"today"), so the file is the same on every run; the latest visits are a few
weeks before 2026-11-24, with two patients on treatment and one recently
withdrawn, so the needs-attention page has something to show.

Every examination is a real CLASI form (raw items per area), built so that
its activity is the story's number for that visit; damage stays put, as the
study found lenalidomide does not change CLASI-D. Pure standard library: the
benchmark imports `generate` from here.

Version 2 adds what a refractory patient also goes through, on top of the
same lenalidomide stories (so the version 1 file is the version 2 one with
lenalidomide only): hydroxychloroquine throughout in several patients,
aspirin thromboprophylaxis beside lenalidomide in those with a risk factor,
a prednisone burst after a relapse, a hold for neutropenia, a thalidomide
restart, methotrexate after a non-response, weights and history. These are
fixed choices, not random draws, so version 1 stays byte-identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from dataclasses import dataclass, field
from typing import Any

FORMATS = {1: "cle-tracker/1", 2: "cle-tracker/2"}
DEMO_CLINIC = "Demo lupus clinic"
# The record's last day for the demo: three weeks before the "today" of the brief.
LAST_DAY = dt.date(2026, 11, 3)

# Where each subtype shows (CLASI area keys), and whether it scales.
SUBTYPE_AREAS: dict[str, tuple[str, ...]] = {
    "DLE": ("scalp", "ears", "nose_malar", "rest_of_face"),
    "SCLE": ("v_neck", "post_neck_shoulders", "chest", "arms", "back_buttocks"),
    "tumid": ("rest_of_face", "v_neck", "back_buttocks"),
    "profundus": ("arms", "legs", "rest_of_face"),
    "chilblain": ("hands", "feet", "ears"),
    "ACLE": ("nose_malar", "rest_of_face", "v_neck"),
}
NO_SCALE = {"tumid", "profundus"}

FIRST_NAMES = (
    "Alba",
    "Berta",
    "Carla",
    "Dolores",
    "Elena",
    "Fabiola",
    "Gemma",
    "Helena",
    "Irene",
    "Julia",
    "Laia",
    "Marta",
    "Nuria",
    "Olga",
    "Paula",
    "Rosa",
    "Sara",
    "Teresa",
)


@dataclass
class Story:
    """What happens to one patient's course, in weeks from its start."""

    kind: str  # relapse | durable | adverse_event | partial | none | ongoing | recent
    baseline: int
    raise_dose: bool = False  # no improvement at week 4: 10 mg/day
    clear_week: int = 8  # first visit week with CLASI-A 0
    relapse_after: int | None = None  # weeks after withdrawal
    restart: bool = False  # a second course after the relapse


@dataclass
class Plan:
    code: str
    name: str
    birth: dt.date
    subtypes: list[str]
    reproductive: bool
    start: dt.date
    story: Story
    note: str = ""
    sle: bool = False
    adverse: dict[int, tuple[str, int]] = field(default_factory=dict)  # visit week -> event


# ---------------------------------------------------------------- examinations


def exam(rng: random.Random, plan: Plan, activity: int, damage: dict[str, Any]) -> dict[str, Any]:
    """A CLASI examination in the compact exchange form whose CLASI-A is `activity`."""
    areas: dict[str, dict[str, int]] = {k: dict(v) for k, v in damage["areas"].items()}
    out: dict[str, Any] = {"instrument": "CLASI"}
    remaining = activity
    exam_items: dict[str, int] = {}
    if "DLE" in plan.subtypes and remaining >= 8:
        exam_items["nonscarring_alopecia"] = 2 if remaining >= 12 else 1
        remaining -= exam_items["nonscarring_alopecia"]
        if remaining >= 10:
            exam_items["recent_hair_loss"] = 1
            remaining -= 1
    if "SCLE" in plan.subtypes and remaining >= 14:
        exam_items["mucous_membrane"] = 1
        remaining -= 1
    sites = [a for s in plan.subtypes for a in SUBTYPE_AREAS[s]]
    sites = list(dict.fromkeys(sites))
    scale_ok = not set(plan.subtypes) <= NO_SCALE
    # Spread the activity over the patient's own sites: erythema first (the
    # worst lesion of each area), then scale where the subtype scales.
    order = sites[:]
    rng.shuffle(order)
    capacity = {a: [3, 2 if scale_ok else 0] for a in order}
    while remaining > 0 and any(sum(c) for c in capacity.values()):
        for area in order:
            if remaining == 0:
                break
            cells = areas.setdefault(area, {})
            er, sc = capacity[area]
            if er:
                cells["erythema"] = cells.get("erythema", 0) + 1
                capacity[area][0] -= 1
                remaining -= 1
            elif sc:
                cells["scale"] = cells.get("scale", 0) + 1
                capacity[area][1] -= 1
                remaining -= 1
    # Form order for areas and items, so the file reads like the paper form.
    form_areas = [a for a in _AREA_ORDER if a in areas]
    out["areas"] = {
        a: {
            k: areas[a][k]
            for k in ("erythema", "scale", "dyspigmentation", "scarring")
            if areas[a].get(k)
        }
        for a in form_areas
        if any(areas[a].values())
    }
    for key in ("mucous_membrane", "recent_hair_loss", "nonscarring_alopecia"):
        if exam_items.get(key):
            out[key] = exam_items[key]
    if damage.get("scalp_scarring"):
        out["scalp_scarring"] = damage["scalp_scarring"]
    if damage.get("lasting"):
        out["dyspigmentation_lasts_12_months"] = True
    return out


_AREA_ORDER = (
    "scalp",
    "ears",
    "nose_malar",
    "rest_of_face",
    "v_neck",
    "post_neck_shoulders",
    "chest",
    "abdomen",
    "back_buttocks",
    "arms",
    "hands",
    "legs",
    "feet",
)


def damage_for(rng: random.Random, plan: Plan) -> dict[str, Any]:
    """The patient's permanent damage: dyspigmentation and scars on her own sites."""
    sites = list(dict.fromkeys(a for s in plan.subtypes for a in SUBTYPE_AREAS[s]))
    areas: dict[str, dict[str, int]] = {}
    for area in rng.sample(sites, k=min(len(sites), rng.randint(1, 3))):
        areas.setdefault(area, {})["dyspigmentation"] = 1
    if "DLE" in plan.subtypes or "profundus" in plan.subtypes:
        scar_sites = [a for a in sites if a != "scalp"]
        area = rng.choice(scar_sites)
        areas.setdefault(area, {})["scarring"] = 2 if "profundus" in plan.subtypes else 1
    scalp = 3 if "DLE" in plan.subtypes and rng.random() < 0.4 else 0
    return {"areas": areas, "scalp_scarring": scalp, "lasting": rng.random() < 0.5}


# ---------------------------------------------------------------- a course over time


def activity_at(story: Story, week: float, withdrawal_week: int | None) -> int:
    """The story's CLASI-A `week` weeks after the course start."""
    b = story.baseline
    if week <= 0:
        return b
    if withdrawal_week is not None and week > withdrawal_week and story.relapse_after is not None:
        if week - withdrawal_week >= story.relapse_after:
            return max(2, round(b * 0.45))
        return 0
    if story.kind == "none":
        return max(b - 1, round(b * 0.95)) if week >= 4 else b
    if story.kind == "partial":
        return max(3, round(b * (0.45 if week >= 12 else 0.7)))
    if story.kind == "adverse_event":
        return b - 1  # too early to tell: stopped before any real change
    onset = 4 if story.raise_dose else 0
    if story.raise_dose and week <= 4:
        return b - 1 if week >= 2 else b  # 5 mg did not help
    if week >= story.clear_week:
        return 0
    span = story.clear_week - onset
    done = (week - onset) / span
    # Most of the fall comes early (mean 11 -> 4.1 within 2 weeks in the study).
    return max(1, round(b * (1 - done) ** 2))


def course_weeks(story: Story) -> tuple[list[int], int | None, list[tuple[int, int, int]]]:
    """Visit weeks, the withdrawal week (None: ongoing) and dose steps (week, mg, every_days)."""
    doses = [(0, 5, 1)]
    if story.kind == "adverse_event":
        return [0, 2, 3], 3, doses
    if story.raise_dose or story.kind == "none":
        doses.append((4, 10, 1))
    if story.kind == "none":
        return [0, 2, 4, 8, 12, 16], 16, doses
    if story.kind == "partial":
        return [0, 2, 4, 8, 12, 16, 20, 24], 24, doses
    weeks = [0, 2, 4, 8, 12, 16]
    clear = story.clear_week
    taper = clear + 4  # a month in CR before the first step down
    if story.raise_dose:
        doses.append((taper, 5, 1))
        doses.append((taper + 4, 5, 2))
        stop = taper + 8
    else:
        doses.append((taper, 5, 2))
        stop = taper + 4
    weeks += list(range(20, stop + 1, 4))
    weeks = sorted(set(weeks) | {clear, stop})
    if story.kind == "ongoing":
        return weeks, None, doses
    return weeks, stop, doses


def labs_for(
    rng: random.Random, plan: Plan, week: int, withdrawal: int | None, neutropenia: bool
) -> list[dict]:
    labs: list[dict[str, Any]] = []
    on_drug = withdrawal is None or week <= withdrawal
    if week == 0 or week % 12 == 0:
        positive = plan.sle or "ACLE" in plan.subtypes
        labs.append(
            {
                "test": "anti_dsdna",
                "value": round(rng.uniform(60, 140) if positive else rng.uniform(2, 18), 1),
                "unit": "IU/mL",
            }
        )
        labs.append({"test": "c3", "value": round(rng.uniform(0.85, 1.45), 2), "unit": "g/L"})
        labs.append({"test": "c4", "value": round(rng.uniform(0.12, 0.36), 2), "unit": "g/L"})
    if on_drug or week == 0:
        anc = 1.2 if neutropenia else round(rng.uniform(2.2, 5.6), 1)
        labs.append({"test": "anc", "value": anc, "unit": "10^9/L"})
        labs.append({"test": "platelets", "value": rng.randint(170, 360), "unit": "10^9/L"})
    if plan.reproductive and (on_drug or (withdrawal is not None and week - withdrawal == 4)):
        labs.append({"test": "pregnancy", "value": "negative"})
    return sorted(labs, key=lambda x: x["test"])


def build_patient(
    rng: random.Random, plan: Plan, last_day: dt.date, max_visits: int | None = None
) -> dict:
    damage = damage_for(rng, plan)
    story = plan.story
    weeks, stop, doses = course_weeks(story)
    if stop is not None:
        follow = (
            [2, 4, 8, 12, 16, 24, 32, 40]
            if story.relapse_after is None
            else sorted({2, 4, story.relapse_after, story.relapse_after + 4})
        )
        weeks = weeks + [stop + f for f in follow]
    visits: list[dict[str, Any]] = []
    neutropenia_week = next((w for w, ev in plan.adverse.items() if "Neutrophil" in ev[0]), None)
    for week in sorted(set(weeks)):
        # Clinic days drift by a day on treatment; the withdrawal and the
        # follow-up after it keep their weeks, so "weeks to relapse" is the story's.
        drift = rng.choice((0, 0, 1, -1)) if 0 < week < (stop if stop is not None else 10**6) else 0
        day = plan.start + dt.timedelta(weeks=week, days=drift)
        if day > last_day or (max_visits is not None and len(visits) >= max_visits):
            break
        visit: dict[str, Any] = {
            "date": day.isoformat(),
            "clasi": exam(rng, plan, activity_at(story, week, stop), damage),
            "labs": labs_for(rng, plan, week, stop, week == neutropenia_week),
        }
        if week in plan.adverse:
            term, grade = plan.adverse[week]
            visit["adverse_events"] = [{"term": term, "grade": grade}]
        if week == 0:
            visit["note"] = "baseline before the first dose"
        elif stop is not None and week == stop:
            visit["note"] = "lenalidomide withdrawn"
        visits.append(visit)
    course: dict[str, Any] = {"drug": "lenalidomide", "start": plan.start.isoformat()}
    end = plan.start + dt.timedelta(weeks=stop) if stop is not None else None
    if end is not None and end <= last_day:
        # The withdrawal is the day of its visit (dates jitter by a day).
        stop_visit = next(
            (v for v in visits if abs((dt.date.fromisoformat(v["date"]) - end).days) <= 1), None
        )
        end = dt.date.fromisoformat(stop_visit["date"]) if stop_visit else end
        course["end"] = end.isoformat()
        course["stop_reason"] = {
            "adverse_event": "adverse_event",
            "none": "inefficacy",
            "partial": "inefficacy",
        }.get(story.kind, "remission")
    course["doses"] = [
        {"date": (plan.start + dt.timedelta(weeks=w)).isoformat(), "mg": mg, "every_days": every}
        for w, mg, every in doses
        if plan.start + dt.timedelta(weeks=w) <= min(last_day, end or last_day)
    ]
    courses = [course]
    if story.restart and story.relapse_after is not None and stop is not None:
        # Restarted at the relapse visit: 5 mg again, still running.
        relapse_day = dt.date.fromisoformat(course["end"]) + dt.timedelta(weeks=story.relapse_after)
        relapse_visit = next(
            (v for v in visits if abs((dt.date.fromisoformat(v["date"]) - relapse_day).days) <= 1),
            None,
        )
        if relapse_visit is not None:
            restart = dt.date.fromisoformat(relapse_visit["date"])
            courses.append(
                {
                    "drug": "lenalidomide",
                    "start": restart.isoformat(),
                    "doses": [{"date": restart.isoformat(), "mg": 5, "every_days": 1}],
                }
            )
            for weeks_after, fraction in ((2, 0.5), (4, 0.0), (8, 0.0)):
                day = restart + dt.timedelta(weeks=weeks_after)
                if day > last_day:
                    break
                act = round(activity_at(story, 0, None) * 0.45 * fraction)
                visits = [v for v in visits if v["date"] != day.isoformat()]
                visits.append(
                    {
                        "date": day.isoformat(),
                        "clasi": exam(rng, plan, act, damage),
                        "labs": labs_for(rng, plan, 1, None, False),
                    }
                )
            visits = [
                v
                for v in visits
                if dt.date.fromisoformat(v["date"]) <= restart
                or any(
                    dt.date.fromisoformat(v["date"]) == restart + dt.timedelta(weeks=w)
                    for w in (2, 4, 8)
                )
            ]
            visits.sort(key=lambda v: v["date"])
    patient: dict[str, Any] = {
        "code": plan.code,
        "name": plan.name,
        "sex": "F",
        "birth_date": plan.birth.isoformat(),
        "cle_subtypes": plan.subtypes,
        "sle": plan.sle,
        "reproductive_potential": plan.reproductive,
        "note": plan.note or "synthetic demo patient, not a real person",
        "courses": courses,
        "visits": visits,
    }
    return patient


# ---------------------------------------------------------------- the cohorts


def demo_plans(rng: random.Random) -> list[Plan]:
    """The 15 women of the demo clinic and what happens to each."""
    d = dt.date
    stories: list[tuple[list[str], d, Story, dict[int, tuple[str, int]], str]] = [
        (
            ["DLE"],
            d(2024, 10, 7),
            Story("relapse", 14, clear_week=8, relapse_after=3),
            {2: ("Insomnia", 1)},
            "thalidomide stopped for neuropathy",
        ),
        (["SCLE"], d(2024, 11, 4), Story("relapse", 12, clear_week=4, relapse_after=2), {}, ""),
        (
            ["DLE", "SCLE"],
            d(2024, 12, 2),
            Story("relapse", 18, raise_dose=True, clear_week=12, relapse_after=6),
            {},
            "hydroxychloroquine and thalidomide failed",
        ),
        (
            ["tumid"],
            d(2025, 1, 13),
            Story("relapse", 9, clear_week=4, relapse_after=4),
            {4: ("Diarrhea", 1)},
            "",
        ),
        (
            ["profundus"],
            d(2025, 2, 10),
            Story("none", 11),
            {},
            "lupus panniculitis; no response at 10 mg",
        ),
        (
            ["SCLE"],
            d(2025, 3, 3),
            Story("adverse_event", 10),
            {3: ("Diarrhea", 2)},
            "stopped early for GI intolerance",
        ),
        (
            ["DLE"],
            d(2025, 3, 31),
            Story("relapse", 13, clear_week=8, relapse_after=8),
            {8: ("Neutrophil count decreased", 2)},
            "",
        ),
        (["SCLE", "DLE"], d(2025, 5, 5), Story("durable", 11, clear_week=8), {}, ""),
        (
            ["chilblain"],
            d(2025, 6, 2),
            Story("partial", 12),
            {},
            "chilblain lupus; partial response",
        ),
        (
            ["DLE"],
            d(2025, 7, 7),
            Story("relapse", 16, raise_dose=True, clear_week=12, relapse_after=4, restart=True),
            {},
            "relapsed and restarted",
        ),
        (["SCLE"], d(2025, 9, 1), Story("relapse", 10, clear_week=4, relapse_after=5), {}, ""),
        (["tumid", "DLE"], d(2025, 10, 6), Story("durable", 8, clear_week=8), {}, ""),
        (
            ["DLE"],
            d(2026, 6, 22),
            Story("recent", 12, clear_week=8, relapse_after=2),
            {},
            "recently withdrawn",
        ),
        (
            ["SCLE"],
            d(2026, 7, 6),
            Story("ongoing", 15, raise_dose=True, clear_week=12),
            {2: ("Insomnia", 1)},
            "on treatment",
        ),
        (["DLE"], d(2026, 8, 17), Story("ongoing", 11, clear_week=8), {}, "on treatment"),
    ]
    plans = []
    for n, (subtypes, start, story, adverse, note) in enumerate(stories, start=1):
        age = rng.randint(24, 58)
        birth = d(start.year - age, rng.randint(1, 12), rng.randint(1, 28))
        plans.append(
            Plan(
                code=f"DEMO-{n:02d}",
                name=f"{FIRST_NAMES[n - 1]} Ficticia",
                birth=birth,
                subtypes=subtypes,
                reproductive=age < 50,
                start=start,
                story=story,
                note=(note + "; " if note else "") + "synthetic demo patient, not a real person",
                adverse=adverse,
            )
        )
    return plans


def _random_story(rng: random.Random) -> Story:
    roll = rng.random()
    baseline = rng.randint(6, 24)
    if roll < 0.6:
        return Story(
            "relapse",
            baseline,
            raise_dose=rng.random() < 0.3,
            clear_week=rng.choice((4, 8, 12)),
            relapse_after=rng.randint(2, 8),
        )
    if roll < 0.75:
        return Story("durable", baseline, clear_week=rng.choice((4, 8)))
    if roll < 0.85:
        return Story("partial", baseline)
    if roll < 0.93:
        return Story("none", baseline)
    return Story("adverse_event", baseline)


def generate(
    patients: int | None = None,
    visits: int | None = None,
    seed: int = 2012,
    clinic: str = DEMO_CLINIC,
    last_day: dt.date = LAST_DAY,
    version: int = 2,
) -> dict[str, Any]:
    """The demo document (patients=None), or `patients` generated ones of up to `visits` visits each."""
    rng = random.Random(seed)
    if patients is None:
        plans = demo_plans(rng)
    else:
        subtype_sets = [
            ["DLE"],
            ["SCLE"],
            ["tumid"],
            ["DLE", "SCLE"],
            ["profundus"],
            ["chilblain"],
            ["ACLE", "SCLE"],
        ]
        plans = []
        for n in range(1, patients + 1):
            start = dt.date(2012, 1, 2) + dt.timedelta(days=rng.randint(0, 365 * 12))
            age = rng.randint(20, 70)
            plans.append(
                Plan(
                    code=f"GEN-{n:05d}",
                    name=f"Generated {n:05d}",
                    birth=dt.date(start.year - age, rng.randint(1, 12), rng.randint(1, 28)),
                    subtypes=rng.choice(subtype_sets),
                    reproductive=age < 50,
                    start=start,
                    story=_random_story(rng),
                    note="synthetic benchmark patient",
                    adverse={2: ("Insomnia", 1)} if rng.random() < 0.1 else {},
                )
            )
    out = [build_patient(rng, plan, last_day, visits) for plan in plans]
    if visits is not None:
        out = [_pad_visits(rng, p, visits, last_day) for p in out]
    if version == 2 and patients is None:
        out = [add_treatments(p, last_day) for p in out]
    return {"format": FORMATS[version], "clinic": clinic, "patients": out}


# ---------------------------------------------------------------- version 2: every treatment


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _course(drug: str, start: dt.date, mg: float, every_days: int = 1,
            end: dt.date | None = None, stop_reason: str = "other", **extra: Any) -> dict[str, Any]:
    course: dict[str, Any] = {"drug": drug, **extra, "start": start.isoformat()}
    if end is not None:
        course["end"] = end.isoformat()
        course["stop_reason"] = stop_reason
    course["doses"] = [{"date": start.isoformat(), "mg": mg, "every_days": every_days}]
    return course


# Which demo patients get which concomitant treatment (by code).
HYDROXYCHLOROQUINE_THROUGHOUT = ("DEMO-01", "DEMO-04", "DEMO-07", "DEMO-10", "DEMO-14")
ASPIRIN_PROPHYLAXIS = {"DEMO-03": {"vte": True}, "DEMO-14": {"antiphospholipid": "positive"}}
PREDNISONE_AFTER_RELAPSE = ("DEMO-02",)
NEUTROPENIA_HOLD = ("DEMO-07",)
THALIDOMIDE_RESTART = ("DEMO-11",)
METHOTREXATE_AFTER = ("DEMO-05",)


def add_treatments(patient: dict[str, Any], last_day: dt.date) -> dict[str, Any]:
    """The demo patient's record with the version 2 treatments, weights and history."""
    code = patient["code"]
    lena = patient["courses"][0]
    start, end = _day(lena["start"]), _day(lena["end"]) if "end" in lena else None
    extra: list[dict[str, Any]] = []
    history: dict[str, Any] = {}
    if "thalidomide" in patient["note"]:
        history["thalidomide_neuropathy"] = "neuropathy" in patient["note"]
    if code in HYDROXYCHLOROQUINE_THROUGHOUT:
        # On hydroxychloroquine since well before lenalidomide, never stopped.
        extra.append(_course("hydroxychloroquine", start - dt.timedelta(days=400), 200))
    if code in ASPIRIN_PROPHYLAXIS:
        history.update(ASPIRIN_PROPHYLAXIS[code])
        extra.append(_course("aspirin", start, 100, end=end))
    relapse = _relapse_visit(patient, end)
    if code in PREDNISONE_AFTER_RELAPSE and relapse is not None:
        burst_end = min(relapse + dt.timedelta(days=20), last_day)
        extra.append(_course("prednisone", relapse, 30, end=burst_end))
    if code in THALIDOMIDE_RESTART and relapse is not None:
        history["thalidomide_neuropathy"] = False
        extra.append(_course("thalidomide", relapse, 50))
    if code in METHOTREXATE_AFTER and end is not None:
        extra.append(_course("methotrexate", end + dt.timedelta(days=14), 15, every_days=7))
    if code in NEUTROPENIA_HOLD:
        neutropenic = next(v for v in patient["visits"]
                           if any(e["term"].startswith("Neutrophil") for e in v.get("adverse_events", ())))
        held = _day(neutropenic["date"])
        lena["interruptions"] = [{"start": held.isoformat(),
                                  "end": (held + dt.timedelta(days=14)).isoformat(),
                                  "reason": "neutropenia grade 2"}]
    patient["courses"] = sorted(patient["courses"] + extra, key=lambda c: (c["start"], c["drug"]))
    if history:
        patient = _insert_after(patient, "note", "history", history)
    # The weight at the first visit (Cockcroft-Gault reads the latest within 12 months).
    first = patient["visits"][0]
    first_weight = 52 + int(code[-2:]) * 1.5
    patient["visits"][0] = _insert_after(first, "adverse_events" if "adverse_events" in first else "labs",
                                         "weight_kg", first_weight)
    return patient


def _relapse_visit(patient: dict[str, Any], end: dt.date | None) -> dt.date | None:
    """The first visit after the withdrawal with CLASI-A > 0 (its erythema or scale typed)."""
    if end is None:
        return None
    for visit in patient["visits"]:
        day = _day(visit["date"])
        if day > end and any(any(v for k, v in cells.items() if k in ("erythema", "scale"))
                             for cells in visit["clasi"]["areas"].values()):
            return day
    return None


def _insert_after(obj: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    """`obj` with `key` placed after `after` (the order export writes keys in)."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        out[k] = v
        if k == after:
            out[key] = value
    if key not in out:
        out[key] = value
    return out


def _pad_visits(
    rng: random.Random, patient: dict[str, Any], visits: int, last_day: dt.date
) -> dict[str, Any]:
    """Long follow-up to reach exactly `visits` visits: a clear skin seen every 6 weeks
    after the story ends (or before it starts when the story runs to the last day)."""
    have = {v["date"] for v in patient["visits"]}
    last = dt.date.fromisoformat(patient["visits"][-1]["date"])
    step = dt.timedelta(weeks=6)
    day = last + step
    extra = []
    template = patient["visits"][-1]["clasi"]
    while len(have) + len(extra) < visits and day <= last_day:
        extra.append({"date": day.isoformat(), "clasi": template})
        day += step
    day = dt.date.fromisoformat(patient["visits"][0]["date"]) - dt.timedelta(days=60)
    while len(have) + len(extra) < visits:
        extra.append({"date": day.isoformat(), "clasi": patient["visits"][0]["clasi"]})
        day -= step
    patient["visits"] = sorted(patient["visits"] + extra, key=lambda v: v["date"])
    return patient


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--patients", type=int, help="generate this many patients instead of the demo cohort"
    )
    parser.add_argument("--visits", type=int, help="visits per generated patient (with --patients)")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--clinic", default=DEMO_CLINIC)
    parser.add_argument("--format", type=int, choices=sorted(FORMATS), default=2,
                        help="cle-tracker version to write (1: lenalidomide only)")
    args = parser.parse_args(argv)
    doc = generate(args.patients, args.visits, args.seed, args.clinic, version=args.format)
    # Written the way export_cohort writes (patients.exchange.dumps_document).
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
