#!/usr/bin/env python3
"""The pages' cost as a ratio to a bare one-query view, served through the same middleware (issue 13).

    .venv/bin/python bench/bench_ratios.py [--rounds 30] [--db cle_bench_ratios]
        [--big 20000] [--small 5000] [--keep] [--reuse]

On a scratch PostgreSQL database (BENCH_ADMIN_URL, default the local server
as postgres; dropped at the end unless --keep), seeded through the app's
commands (bench/benchdb.py): a clinic of 5,000 and one of 20,000 generated
patients (10 visits each), and a clinic with one patient of 5 visits, one of
200 and one that receives the visit saves. The production settings
(clinic.settings, DEBUG off) with one change: ROOT_URLCONF is this script's
own URLconf, the app's URLs plus /bench/bare/, a view that signs nothing,
renders nothing and runs one query (so no bare view ships with the app).

Each target is measured through Django's test client (whole request:
middleware, sessions, queries, rendering, gzip) in interleaved rounds,
bare view then target, A B A B; the ratio of each pair is one sample. Prints
per target: median ratio, its spread (min, quartiles, max), and the median
milliseconds of target and bare. Only URLs and HTTP are used, never the
app's internal functions, so the figures stay comparable across refactors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import types
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import benchdb  # noqa: E402
from bench.httpforms import form_posting_to  # noqa: E402

PAGES_CLINIC = "Bench pages"
ONLY: list[str] = []  # --only: measure just the targets whose name contains one of these
ENCODING = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def seed(env: dict[str, str], db_url: str, big: int, small: int) -> None:
    started = time.perf_counter()
    pages = benchdb.generated(1, 5, seed=11, clinic=PAGES_CLINIC, prefix="V5-")
    pages["patients"] += benchdb.generated(1, 200, seed=12, clinic=PAGES_CLINIC, prefix="V200-")["patients"]
    pages["patients"] += benchdb.generated(1, 5, seed=13, clinic=PAGES_CLINIC, prefix="SAVE-")["patients"]
    benchdb.import_document(env, pages)
    benchdb.import_document(env, benchdb.generated(small, 10, seed=21, clinic=f"Bench {small}"))
    benchdb.import_document(env, benchdb.generated(big, 10, seed=22, clinic=f"Bench {big}"))
    # A registry in use has its statistics and visibility maps kept by autovacuum; a
    # database seeded a minute ago has not been visited yet, and the planner would
    # plan for empty tables. Vacuum and analyse once, as autovacuum would.
    benchdb.admin("VACUUM ANALYZE", db_url)
    print(f"seeded {small} + {big} + 3 patients in {time.perf_counter() - started:.0f} s")


def bench_urlconf() -> types.ModuleType:
    """The app's URLs plus the bare view; a module object, so nothing is added to the app."""
    from django.contrib.auth import get_user_model
    from django.http import HttpResponse
    from django.urls import path

    import clinic.urls

    def bare(request):
        n = get_user_model().objects.filter(pk=request.user.pk).count()
        return HttpResponse(f"<!doctype html><title>bare</title><p>{n}</p>")

    module = types.ModuleType("bench_ratios_urls")
    module.urlpatterns = [*clinic.urls.urlpatterns, path("bench/bare/", bare, name="bench-bare")]
    return module


def timed(fn) -> tuple[float, float, object]:
    """Wall seconds and this process's CPU seconds (the server's Python work; the
    database's own CPU is not in it) of one request."""
    cpu, started = time.process_time(), time.perf_counter()
    response = fn()
    return time.perf_counter() - started, time.process_time() - cpu, response


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[1], q[2]


def measure(name: str, bare, target, rounds: int, warmup: int = 3) -> dict | None:
    if ONLY and not any(part in name for part in ONLY):
        return None
    for _ in range(warmup):
        bare(), target()
    ratios, cpu_ratios, t_target, t_bare, c_target, c_bare = [], [], [], [], [], []
    for _ in range(rounds):
        tb, cb, rb = timed(bare)
        tt, ct, rt = timed(target)
        assert rb.status_code == 200, rb.status_code
        assert rt.status_code in (200, 302), (name, rt.status_code)
        ratios.append(tt / tb)
        cpu_ratios.append(ct / max(cb, 1e-6))
        t_target.append(tt)
        t_bare.append(tb)
        c_target.append(ct)
        c_bare.append(cb)
    q1, med, q3 = quartiles(ratios)
    row = {
        "name": name,
        "median": med,
        "q1": q1,
        "q3": q3,
        "min": min(ratios),
        "max": max(ratios),
        "cpu_median": statistics.median(cpu_ratios),
        "ms": statistics.median(t_target) * 1000,
        "bare_ms": statistics.median(t_bare) * 1000,
        "cpu_ms": statistics.median(c_target) * 1000,
        "bare_cpu_ms": statistics.median(c_bare) * 1000,
    }
    cq1, _, cq3 = quartiles(cpu_ratios)
    print(
        f"{name:<36} wall {med:6.1f}x (min {row['min']:.1f}, q1 {q1:.1f}, q3 {q3:.1f}, max {row['max']:.1f})"
        f" {row['ms']:7.1f} ms vs {row['bare_ms']:.1f};"
        f"  cpu {row['cpu_median']:6.1f}x (q1 {cq1:.1f}, q3 {cq3:.1f}) {row['cpu_ms']:7.1f} ms vs {row['bare_cpu_ms']:.1f}",
        flush=True,
    )
    return row


def run(args, db_url: str) -> None:
    env = benchdb.production_env(db_url, DJANGO_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage")
    if not args.reuse:
        benchdb.manage(env, "migrate", "--no-input")
        seed(env, db_url, args.big, args.small)
    passwords = {
        key: benchdb.add_clinician(env, f"bench.{key}", clinic)
        for key, clinic in (("pages", PAGES_CLINIC), ("small", f"Bench {args.small}"), ("big", f"Bench {args.big}"))
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import override_settings

    with override_settings(ROOT_URLCONF=bench_urlconf()):
        clients = {}
        for key, password in passwords.items():
            client = Client()
            response = client.post("/accounts/login/", {"username": f"bench.{key}", "password": password})
            assert response.status_code == 302, f"sign-in of bench.{key} failed"
            clients[key] = client
        anonymous = Client()

        def get(client, url):
            return lambda: client.get(url, **ENCODING)

        def patient_url(client, code: str) -> str:
            response = client.get("/patients/", {"q": code})
            html = response.content.decode()
            import re

            found = re.findall(r'href="(/patients/[0-9a-f-]{36}/)"', html)
            assert found, f"patient {code} not found by the list's search"
            return found[0]

        pages = clients["pages"]
        p5, p200, psave = (patient_url(pages, c) for c in ("V5-", "V200-", "SAVE-"))
        form_page = pages.get(psave + "visits/new/").content.decode()
        action, fields = form_posting_to(form_page, "/visits/new/")
        # Fresh dates in the past (a visit is one per day); random start so a --reuse run finds free days.
        first = dt.date(2010, 1, 1) + dt.timedelta(days=random.randrange(0, 4000, 100))
        day = iter(first + dt.timedelta(days=n) for n in range(100_000))

        def save_visit():
            data = dict(fields, date=next(day).isoformat(), note="bench ratio save")
            # URL-encoded, as a browser sends this form (it has no file input);
            # the test client's default, multipart, costs the server more to parse.
            response = pages.post(action, urlencode(data), content_type="application/x-www-form-urlencoded",
                                  **ENCODING)
            assert response.status_code == 302, f"visit save answered {response.status_code}"
            return response

        rows = []
        bare = get(pages, "/bench/bare/")
        print(
            f"\n{args.rounds} interleaved rounds (bare, target); ratio = target / bare of the same round;"
            f" wall = elapsed, cpu = this process's CPU time. Load average before: {os.getloadavg()[0]:.1f}"
        )
        rows.append(measure("patient page, 5 visits", bare, get(pages, p5), args.rounds))
        rows.append(measure("patient page, 200 visits", bare, get(pages, p200), args.rounds))
        rows.append(measure("visit save (POST, redirect)", bare, save_visit, args.rounds))
        rows.append(measure("sign-in page (anonymous GET)", bare, get(anonymous, "/accounts/login/"), args.rounds))
        for key, n in (("small", args.small), ("big", args.big)):
            client = clients[key]
            rows.append(measure(f"needs-attention, {n} patients", get(client, "/bench/bare/"), get(client, "/attention/"), args.rounds))
            rows.append(
                measure(
                    f"open-flag patient list, {n} patients",
                    get(client, "/bench/bare/"),
                    get(client, "/patients/?open_flag=on"),
                    args.rounds,
                )
            )
        rows = [row for row in rows if row]
        sign_in = next((r for r in rows if r["name"].startswith("sign-in")), None)
        if sign_in is None:
            return
        print(f"\nagainst the sign-in page (median wall ms / median wall ms; load average now {os.getloadavg()[0]:.1f}):")
        for row in rows:
            if row is not sign_in:
                print(
                    f"  {row['name']:<38} {row['ms'] / sign_in['ms']:8.1f}x the sign-in page"
                    f" ({row['ms']:.1f} ms vs {sign_in['ms']:.1f} ms;"
                    f" cpu {row['cpu_ms'] / max(sign_in['cpu_ms'], 1e-3):.1f}x)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    # Issue 13's two clinic sizes: within 20x the sign-in page at 5,000, 50x at 20,000.
    parser.add_argument("--big", type=int, default=20000)
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--db", default="cle_bench_ratios")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    parser.add_argument("--only", action="append", default=[], help="measure only targets whose name contains this")
    args = parser.parse_args()
    ONLY.extend(args.only)
    if not (args.reuse and benchdb.exists(args.db)):
        args.reuse = False
        benchdb.recreate(args.db)
    try:
        run(args, benchdb.with_db(benchdb.ADMIN_URL, args.db))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            benchdb.drop(args.db)


if __name__ == "__main__":
    main()
