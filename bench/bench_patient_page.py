"""How heavy is the patient page with the trend chart, and the needs-attention page? (issue 5)

    .venv/bin/python bench/bench_patient_page.py [--visits 200] [--repeat 30] [--patients 1000]

Builds a throw-away SQLite database (or uses DATABASE_URL if set to a
PostgreSQL database the script may fill), then measures:

1. server time of GET /patients/<id>/ for a patient with `--visits` visits
   (courses, a withdrawal, dose steps, labs, a flag), through Django's test
   client: the whole request, middleware, queries, analysis and template;
   plus the share of scoring.selectors.patient_analysis and of the figure;
2. bytes sent: the HTML, and every static file the page references (the
   stylesheets, htmx, plotly.js, charts.js), raw and gzip -9 (WhiteNoise
   serves pre-compressed files); "cached" = a repeat visit where the
   static files, whose names are hashed and cached a year in production,
   come from the browser cache, so only the HTML travels;
3. the needs-attention page's work for `--patients` patients (about 10
   visits each, a relapse in about half of them): queries and time.

Numbers are printed; nothing is asserted (performance claims live here,
not in timed unit tests).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings_test")
    if "DATABASE_URL" not in os.environ:
        db = Path(tempfile.mkdtemp(prefix="cle-bench-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def bench_page(visits: int, repeat: int) -> None:
    from django.contrib.staticfiles import finders
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from clinic.models import Clinic, Membership
    from django.contrib.auth import get_user_model
    from clinical.charts.trend import trend_figure
    from patients.snapshot import record_for
    from scoring.selectors import current_flags, patient_analysis
    from tests.scoring.trend_factories import build_history

    clinic = Clinic.objects.create(name="Bench clinic")
    user = get_user_model().objects.create_user("bench.clinician", password="x" * 20)
    Membership.objects.create(user=user, clinic=clinic, role="clinician")
    started = time.perf_counter()
    patient = build_history(clinic, "BENCH-200", n_visits=visits, clinician=user)
    print(f"seeded {visits} visits through the services in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(user)
    url = reverse("patients:detail", args=[patient.pk])
    client.get(url)  # warm: template loading, imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    html = response.content

    record = record_for(patient)
    analysis_times, figure_times = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        patient_analysis(patient, record)
        analysis_times.append(time.perf_counter() - t)
        timeline = record
        flags = current_flags(timeline)
        t = time.perf_counter()
        trend_figure(timeline, flags)
        figure_times.append(time.perf_counter() - t)

    print(f"\n== patient page, {visits} visits, {repeat} requests ({connection.vendor}) ==")
    print(f"server time: median {ms(statistics.median(times))}, "
          f"p90 {ms(sorted(times)[int(len(times) * 0.9) - 1])}, min {ms(min(times))}")
    print(f"  of which patient_analysis (1 query + rules + figure): median {ms(statistics.median(analysis_times))}")
    print(f"  of which trend_figure alone: median {ms(statistics.median(figure_times))}")
    print(f"SQL queries: {len(queries.captured_queries)}")

    assets = sorted(set(re.findall(rb'(?:src|href)="(/static/[^"]+)"', html)))
    rows = [("HTML", len(html), len(gzip.compress(html, 9)))]
    for asset in assets:
        name = asset.decode()[len("/static/"):]
        path = finders.find(name)
        if path is None:
            print(f"  (asset {name} not found by the finders)")
            continue
        data = Path(path).read_bytes()
        rows.append((name, len(data), len(gzip.compress(data, 9))))
    print("\nbytes sent           raw        gzip")
    for name, raw, gz in rows:
        print(f"  {name:<28} {raw:>10,} {gz:>10,}")
    first_raw = sum(r[1] for r in rows)
    first_gz = sum(r[2] for r in rows)
    print(f"  first load total             {first_raw:>10,} {first_gz:>10,}")
    print(f"  cached (HTML only)           {rows[0][1]:>10,} {rows[0][2]:>10,}")
    figure_json = re.search(rb'<script id="trend-figure" type="application/json">(.*?)</script>', html, re.S)
    if figure_json:
        print(f"  of the HTML, the figure JSON {len(figure_json.group(1)):>10,} "
              f"{len(gzip.compress(figure_json.group(1), 9)):>10,}")


def seed_cohort(clinic, patients: int) -> None:
    """~10 visits per patient, bulk-inserted (the bench's own shortcut: no audit rows)."""
    import datetime as dt
    import random
    from decimal import Decimal

    from patients.models import Course, DoseStep, LabResult, Patient, Visit
    from scoring.models import Assessment
    from scoring.services import assessment_values
    from tests.scoring.trend_factories import exam_with

    rng = random.Random(2012)
    exams = {a: assessment_values(exam_with(a)) for a in range(0, 21)}
    today = dt.date.today()
    ps, vs, as_, cs, ds, ls = [], [], [], [], [], []
    for i in range(patients):
        p = Patient(clinic=clinic, code=f"COH-{i:04d}", sex="F")
        ps.append(p)
        o = today - dt.timedelta(days=rng.randint(300, 900))
        end = o + dt.timedelta(days=rng.choice([84, 112, 140]))
        c = Course(patient=p, start=o, end=end, stop_reason="remission")
        cs.append(c)
        ds.append(DoseStep(course=c, date=o, mg=Decimal("10"), every_days=1))
        ds.append(DoseStep(course=c, date=o + dt.timedelta(days=56), mg=Decimal("5"), every_days=1))
        relapse = rng.random() < 0.5
        schedule = [(-2, 12), (28, 4), (56, 0), ((end - o).days, 0)]
        schedule += [((end - o).days + 14 * k, (3 if relapse and k >= 2 else 0)) for k in range(1, 7)]
        for offset, activity in schedule:
            v = Visit(patient=p, date=o + dt.timedelta(days=offset))
            vs.append(v)
            as_.append(Assessment(visit=v, **exams[activity]))
            ls.append(LabResult(visit=v, test="c3", value=Decimal("1.0"), unit="g/L"))
    Patient.objects.bulk_create(ps)
    Course.objects.bulk_create(cs)
    DoseStep.objects.bulk_create(ds)
    Visit.objects.bulk_create(vs)
    Assessment.objects.bulk_create(as_)
    LabResult.objects.bulk_create(ls)


def bench_attention(patients: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from clinic.access import scoped
    from clinic.models import Clinic, Membership
    from patients.models import Patient
    from patients.snapshot import records_for
    from scoring.selectors import attention_rows, current_flags

    clinic = Clinic.objects.create(name="Cohort clinic")
    user = get_user_model().objects.create_user("cohort.clinician", password="x" * 20)
    Membership.objects.create(user=user, clinic=clinic, role="clinician")
    t = time.perf_counter()
    seed_cohort(clinic, patients)
    print(f"\nseeded {patients} patients (bulk) in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    timelines = records_for(scoped(user, Patient), full=False)
    read = time.perf_counter() - t
    t = time.perf_counter()
    flagged = sum(1 for tl in timelines.values() if current_flags(tl))
    rules = time.perf_counter() - t
    connection.queries_log.clear()  # a full log (9,000 entries) would hide the count
    with CaptureQueriesContext(connection) as queries:
        t = time.perf_counter()
        rows = attention_rows(user)
        total = time.perf_counter() - t
    # Read now: captured_queries is lazy, and the next request resets the query log.
    query_count = len(queries.captured_queries)
    client = Client()
    client.force_login(user)
    client.get(reverse("scoring:attention"))
    t = time.perf_counter()
    page = client.get(reverse("scoring:attention"))
    page_time = time.perf_counter() - t
    print(f"== needs attention, {len(timelines)} patients of the user's clinics ({flagged} flagged) ==")
    print(f"records_for: {ms(read)}; flag rules in Python: {ms(rules)} "
          f"({rules / max(1, len(timelines)) * 1e6:.0f} µs per patient)")
    print(f"attention_rows: {ms(total)} in {query_count} queries, {len(rows)} rows")
    print(f"GET /attention/: {ms(page_time)}, {len(page.content):,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--patients", type=int, default=1000)
    args = parser.parse_args()
    setup_django()
    bench_page(args.visits, args.repeat)
    bench_attention(args.patients)


if __name__ == "__main__":
    main()
