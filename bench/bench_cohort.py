#!/usr/bin/env python3
"""Benchmark: import and report a generated cohort of 2,000 patients x 20 visits on PostgreSQL.

    .venv/bin/python bench/bench_cohort.py [--patients 2000] [--visits 20]
        [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--db cle_bench]

Creates a scratch database (dropped at the end, also on failure), migrates
it, generates the cohort with scripts/make_demo_cohort.py's machinery (seeded),
imports it with patients.exchange.import_document (validation, scoring,
bulk writes, one transaction), exports it, then runs the outcome report
(scoring.cohort: timelines in a fixed number of values() queries, then the
pure rules, once; every key of exchange-format.md). The report must stay
under 2 s (issue 10); "page data" is everything the cohort page computes. Prints wall times, SQL query counts, and peak memory: the
process's ru_maxrss and tracemalloc's peak for the report phase alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=parts.path.lstrip("/") or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--db", default="cle_bench")
    args = parser.parse_args()

    _admin(args.admin_url, f'DROP DATABASE IF EXISTS "{args.db}"')
    _admin(args.admin_url, f'CREATE DATABASE "{args.db}"')
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(args.admin_url, f'DROP DATABASE IF EXISTS "{args.db}"')


def run(args) -> None:
    os.environ["DATABASE_URL"] = _with_db(args.admin_url, args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinic.models import Clinic
    from patients.exchange import dumps_document, export_document, import_document
    from patients.models import Visit
    from scoring.cohort import clinic_cohort
    from scripts.make_demo_cohort import generate

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL scratch database {args.db}; {args.patients} patients x {args.visits} visits")

    t = time.perf_counter()
    doc = generate(args.patients, args.visits, seed=args.seed, clinic="Benchmark clinic")
    text = json.dumps(doc)
    generated = time.perf_counter() - t
    visits = sum(len(p["visits"]) for p in doc["patients"])
    print(f"generate:  {generated:6.2f} s  ({visits} visits, {len(text) / 1e6:.1f} MB of JSON)")

    t = time.perf_counter()
    with CaptureQueriesContext(connection) as q_import:
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            result = prof.runcall(import_document, json.loads(text), source="bench.json")
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        else:
            result = import_document(json.loads(text), source="bench.json")
    imported = time.perf_counter() - t
    print(f"import:    {imported:6.2f} s  ({len(q_import)} SQL queries; {result.summary()})")
    assert Visit.objects.count() == visits
    del doc, text

    clinic = Clinic.objects.get(name="Benchmark clinic")
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as q_export:
        exported = dumps_document(export_document(clinic))
    print(
        f"export:    {time.perf_counter() - t:6.2f} s  ({len(q_export)} SQL queries, {len(exported) / 1e6:.1f} MB)"
    )
    del exported

    rss_before = _rss_mb()
    as_of = dt.date(2026, 11, 24)
    # Timed without tracemalloc (tracing every allocation slows Python about
    # threefold), then run again under tracemalloc for its peak only.
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as q_report:
        cohort = clinic_cohort(clinic, as_of)
        report = cohort.report()
    reported = time.perf_counter() - t
    tracemalloc.start()
    clinic_cohort(clinic, as_of).report()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"report:    {reported:6.2f} s  ({len(q_report)} SQL queries; tracemalloc peak {peak / 1e6:.1f} MB)"
    )
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as q_charts:
        km = cohort.relapse_free()
        weeks = cohort.activity_by_week()
        cohort.table_one()
        cohort.immunology()
    print(
        f"charts:    {time.perf_counter() - t:6.2f} s  ({len(q_charts)} SQL queries; KM n={km.n}, "
        f"{len(weeks)} week points; Table 1 and immunology; the rules already ran)"
    )
    # The whole page's worth from a cold cohort: read, rules once, report, curve, tables.
    t = time.perf_counter()
    page = clinic_cohort(clinic, as_of)
    page.report(), page.relapse_free(), page.activity_by_week(), page.table_one(), page.immunology()
    print(f"page data: {time.perf_counter() - t:6.2f} s  (everything the cohort page computes)")
    print(
        "report:    "
        + ", ".join(
            f"{k}={report[k]}"
            for k in (
                "patients",
                "courses",
                "evaluable_courses",
                "complete_response_rate",
                "withdrawn_in_complete_response",
                "relapse_rate",
                "weeks_to_relapse",
                "mean_baseline_activity",
                "patient_complete_response_rate",
                "follow_up_weeks",
            )
        )
        + f", adverse event terms={len(report['adverse_events'])}"
        + f", flags={len(report['flags'])}"
    )
    print(
        f"peak RSS (ru_maxrss, whole process): {_rss_mb():.0f} MB (before the report: {rss_before:.0f} MB)"
    )


if __name__ == "__main__":
    main()
