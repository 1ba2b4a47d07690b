#!/usr/bin/env python3
"""Load benchmark: concurrent simulated clinicians over gunicorn and PostgreSQL (issue 13).

    .venv/bin/python bench/bench_load.py [--users 50] [--duration 60] [--patients 1000]
        [--workers 4] [--worker-class sync] [--threads 1] [--port 8121]
        [--db cle_bench_load] [--keep] [--reuse]

Sets up a scratch PostgreSQL database (BENCH_ADMIN_URL; dropped at the end
unless --keep) with a clinic of --patients generated patients (10 visits
each, scripts/make_demo_cohort.py) and --users clinician accounts, all through
the app's commands; collects the static files; starts gunicorn on 127.0.0.1
(production settings, DEBUG off) and waits for it.

Then --users threads, one per clinician, each with its own session cookie,
sign in through the login form (not timed) and loop with no think time for
--duration seconds over a clinic-desk mix:

    25% patient list with a search      GET /patients/?q=...
    30% patient page                    GET /patients/<id>/
    20% visit page                      GET /patients/visits/<id>/
    15% log a visit                     GET the form, POST it with its CSRF token
    10% acknowledge a flag              GET the patient page, POST its acknowledgement form

Every request is bounded (30 s timeout), loopback only. Prints throughput,
p50/p95/p99 latency and errors per request type; then checks in the
database that every write the server confirmed (302 after the POST; each
carries a unique note) is there exactly once, and that no unconfirmed one
slipped in. With the CPU probe (default; bench/wsgi_cpu.py wraps the app),
each worker logs the CPU time of every request: printed per request type,
that is where the workers' time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import benchdb  # noqa: E402
from bench.httpforms import csrf_token, form_posting_to, forms_in  # noqa: E402

CLINIC = "Load clinic"
# Where the writes land (checked after the run).
VISIT_TABLE = "patients_visit"
ACK_TABLE = "scoring_flagacknowledgement"
MIX = [("search", 25), ("patient", 30), ("visit", 20), ("log_visit", 15), ("ack", 10)]
KINDS = ["list search", "patient page", "visit page", "visit form", "log visit POST", "ack POST"]
PATIENT_LINK = re.compile(r'href="/patients/([0-9a-f-]{36})/"')
SIGN_IN_SLOTS = threading.Semaphore(4)
VISIT_LINK = re.compile(r'href="/patients/visits/([0-9a-f-]{36})/"')


class Browser:
    """One clinician's browser: a session cookie jar and a connection to the server."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, kind: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Accept-Encoding": "gzip", "X-Bench-Kind": kind, "Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        for value in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(value)
            for key, morsel in jar.items():
                self.cookies[key] = morsel.value
        if response.headers.get("Connection", "").lower() == "close":
            self.conn.close()
        if response.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        return response.status, response.headers.get("Location", ""), raw.decode("utf-8", "replace")

    def sign_in(self, username: str, password: str) -> None:
        status, _, html = self.request("GET", "/accounts/login/", "setup")
        assert status == 200, f"login page answered {status}"
        form = {"csrfmiddlewaretoken": csrf_token(html), "username": username, "password": password}
        status, location, _ = self.request("POST", "/accounts/login/", "setup", form)
        assert status == 302 and "/login" not in location, f"sign-in of {username} failed ({status})"


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.visits: set[str] = set()  # notes of visits the server confirmed
        self.acks: set[str] = set()
        self.attempted: set[str] = set()

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{kind}: {detail}")


class Clinician(threading.Thread):
    def __init__(self, n: int, args, password: str, patients: list[str], flagged: list[str],
                 write_patients: list[str], first_write_day: dt.date, run: str, results: Results,
                 start: threading.Event, deadline: list[float]) -> None:
        super().__init__(daemon=True)
        self.n, self.args, self.password = n, args, password
        self.patients, self.flagged, self.write_patients = patients, list(flagged), write_patients
        self.first_write_day, self.run_id, self.results = first_write_day, run, results
        self.start_event, self.deadline = start, deadline
        self.rng = random.Random(n)
        self.browser = Browser(args.port)
        self.visit_ids: list[str] = []
        self.writes = 0
        self.ready = threading.Event()
        self.failed: str | None = None

    def timed(self, kind: str, method: str, path: str, expect: int, form: dict | None = None) -> tuple[bool, str, str]:
        started = time.perf_counter()
        try:
            status, location, html = self.browser.request(method, path, kind, form)
        except Exception as error:  # a timeout or a reset is an error of this request
            self.results.record(kind, time.perf_counter() - started, False, f"{path}: {error!r}")
            return False, "", ""
        ok = status == expect
        self.results.record(kind, time.perf_counter() - started, ok, f"{method} {path} -> {status}")
        return ok, location, html

    def run(self) -> None:
        # Password hashing is slow on purpose: a few sign-ins at a time, with time to spare.
        self.browser.conn.timeout = 120
        try:
            with SIGN_IN_SLOTS:
                self.browser.sign_in(f"bench.load{self.n:02d}", self.password)
        except Exception as error:
            self.failed = repr(error)
        self.browser.conn.close()
        self.browser.conn.timeout = 30
        self.ready.set()
        if self.failed:
            return
        self.start_event.wait()
        actions, weights = zip(*MIX)
        while time.perf_counter() < self.deadline[0]:
            getattr(self, self.rng.choices(actions, weights)[0])()

    def search(self) -> None:
        term = self.rng.choice(["GEN-0", "GEN-00", f"GEN-{self.rng.randint(1, 9)}", "Generated 0"])
        self.timed("list search", "GET", "/patients/?" + urlencode({"q": term}), 200)

    def patient(self, patient_id: str | None = None) -> str:
        patient_id = patient_id or self.rng.choice(self.patients)
        ok, _, html = self.timed("patient page", "GET", f"/patients/{patient_id}/", 200)
        if ok:
            self.visit_ids = (self.visit_ids + VISIT_LINK.findall(html))[-200:]
        return html if ok else ""

    def visit(self) -> None:
        if not self.visit_ids:
            self.patient()
            return
        self.timed("visit page", "GET", f"/patients/visits/{self.rng.choice(self.visit_ids)}/", 200)

    def log_visit(self) -> None:
        patient_id = self.write_patients[self.writes % len(self.write_patients)]
        day = self.first_write_day - dt.timedelta(days=self.writes // len(self.write_patients))
        self.writes += 1
        ok, _, html = self.timed("visit form", "GET", f"/patients/{patient_id}/visits/new/", 200)
        found = form_posting_to(html, "/visits/new/") if ok else None
        if not found:
            return
        action, fields = found
        note = f"load-{self.run_id}-{self.n:02d}-{self.writes:05d}"
        fields.update(date=day.isoformat(), note=note)
        for name in ("clasi-arms-erythema", "clasi-chest-erythema"):
            if name in fields:
                fields[name] = str(self.rng.randint(0, 2))
        self.results.attempted.add(note)
        ok, location, _ = self.timed("log visit POST", "POST", action, 302, fields)
        if ok:
            with self.results.lock:
                self.results.visits.add(note)

    def ack(self) -> None:
        while self.flagged:
            patient_id = self.flagged[-1]
            html = self.patient(patient_id)
            forms = [(a, f) for a, f in forms_in(html) if "/flags/acknowledge/" in a]
            if not forms:
                self.flagged.pop()
                continue
            action, fields = forms[0]
            self.writes += 1
            note = f"load-{self.run_id}-{self.n:02d}-{self.writes:05d} reviewed at the desk"
            fields["note"] = note
            self.results.attempted.add(note)
            ok, _, _ = self.timed("ack POST", "POST", action, 302, fields)
            if ok:
                with self.results.lock:
                    self.results.acks.add(note)
            return
        self.patient()  # nothing left to acknowledge in this clinician's share: read a record


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def crawl(browser: Browser, query: dict) -> list[str]:
    """Every patient id the list shows for `query`, page by page."""
    ids: list[str] = []
    page = 1
    while True:
        status, _, html = browser.request("GET", "/patients/?" + urlencode({**query, "page": page}), "setup")
        assert status == 200, f"patient list answered {status}"
        found = [i for i in dict.fromkeys(PATIENT_LINK.findall(html)) if i not in ids]
        if not found:
            return ids
        ids += found
        if f"page={page + 1}" not in html:
            return ids
        page += 1


def start_gunicorn(args, env: dict[str, str]) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.threads),
        "--timeout", "60",
        # No control socket: its default path is per user, shared with any other gunicorn here.
        "--no-control-socket",
        "--pythonpath", str(ROOT),
        "bench.wsgi_cpu:application" if env.get("BENCH_CPU_DIR") else "clinic.wsgi:application",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env,
                              # The app logs to stdout (JSON lines): kept, so a 500 can be explained.
                              stdout=open(Path(tempfile.gettempdir()) / f"bench_load_app_{args.port}.log", "w"),
                              stderr=open(Path(tempfile.gettempdir()) / f"bench_load_gunicorn_{args.port}.log", "w"))
    for _ in range(120):
        time.sleep(0.5)
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}); see its log in {tempfile.gettempdir()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            continue
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def worker_cpu_seconds(server: subprocess.Popen) -> float:
    """user+system CPU seconds of gunicorn's workers (children of the master), from /proc."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for child in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8121)
    parser.add_argument("--db", default="cle_bench_load")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    parser.add_argument("--no-cpu", action="store_true", help="serve clinic.wsgi without the CPU probe")
    args = parser.parse_args()
    if not 1 <= args.users <= 200 or not 1 <= args.duration <= 600:
        raise SystemExit("--users 1-200 and --duration 1-600 s: this is a bounded benchmark")
    if not (args.reuse and benchdb.exists(args.db)):
        args.reuse = False
        benchdb.recreate(args.db)
    try:
        run(args, benchdb.with_db(benchdb.ADMIN_URL, args.db))
    finally:
        if not args.keep:
            benchdb.drop(args.db)


def run(args, db_url: str) -> None:
    env = benchdb.production_env(db_url)
    if not args.reuse:
        started = time.perf_counter()
        benchdb.manage(env, "migrate", "--no-input")
        benchdb.import_document(env, benchdb.generated(args.patients, 10, seed=31, clinic=CLINIC))
        print(f"seeded {args.patients} patients x 10 visits in {time.perf_counter() - started:.0f} s")
    # The accounts of a kept database are reused with their passwords (kept beside it, in the temp dir).
    saved = Path(tempfile.gettempdir()) / f"bench_load_{args.db}_accounts.json"
    passwords = json.loads(saved.read_text()) if args.reuse and saved.exists() else []
    if len(passwords) < args.users:
        with ThreadPoolExecutor(4) as pool:
            passwords = list(pool.map(lambda n: benchdb.add_clinician(env, f"bench.load{n:02d}", CLINIC), range(args.users)))
    if args.keep:
        saved.write_text(json.dumps(passwords))
    else:
        saved.unlink(missing_ok=True)
    benchdb.manage(env, "collectstatic", "--no-input", "--verbosity", "0")
    cpu_dir = None if args.no_cpu else tempfile.mkdtemp(prefix="bench-cpu-")
    if cpu_dir:
        env["BENCH_CPU_DIR"] = cpu_dir
    server = start_gunicorn(args, env)
    try:
        results = load(args, db_url, passwords, server)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    verify(db_url, results)
    if cpu_dir:
        cpu_report(cpu_dir)
        shutil.rmtree(cpu_dir, ignore_errors=True)


def load(args, db_url: str, passwords: list[str], server: subprocess.Popen) -> Results:
    scout = Browser(args.port)
    scout.sign_in("bench.load00", passwords[0])
    patients = crawl(scout, {})
    flagged = crawl(scout, {"open_flag": "on"})
    assert len(patients) >= args.patients, f"the list showed {len(patients)} patients"
    (earliest,) = benchdb.query(db_url, f"SELECT MIN(date) FROM {VISIT_TABLE}")[0]
    # New visits go on free days: before every visit already in the record.
    first_write_day = earliest - dt.timedelta(days=1)
    run_id = f"{int(time.time()) % 100000:05d}"
    results = Results()
    start, deadline = threading.Event(), [0.0]
    clinicians = [
        Clinician(n, args, passwords[n], patients, flagged[n::args.users], patients[n::args.users],
                  first_write_day, run_id, results, start, deadline)
        for n in range(args.users)
    ]
    for c in clinicians:
        c.start()
    for c in clinicians:
        c.ready.wait(600)
    failed = [c.failed for c in clinicians if c.failed]
    if failed:
        raise SystemExit(f"{len(failed)} clinicians could not sign in: {failed[0]}")
    print(
        f"{args.users} clinicians signed in; {len(patients)} patients, {len(flagged)} with an open flag; "
        f"gunicorn {args.workers} x {args.worker_class}"
        + (f" ({args.threads} threads)" if args.threads > 1 else "")
        + f"; {args.duration:.0f} s, no think time; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    cpu_before, own_before = worker_cpu_seconds(server), time.process_time()
    began = time.perf_counter()
    deadline[0] = began + args.duration
    start.set()
    for c in clinicians:
        c.join(args.duration + 60)
    elapsed = time.perf_counter() - began
    cpu_workers, cpu_own = worker_cpu_seconds(server) - cpu_before, time.process_time() - own_before
    total = sum(len(v) for v in results.latency.values())
    errors = sum(results.errors.values())
    print(f"\n{total} requests in {elapsed:.1f} s: {total / elapsed:.1f} req/s, {errors} errors")
    print(f"{'request':<16} {'count':>6} {'req/s':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for kind in KINDS:
        values = results.latency.get(kind, [])
        if values:
            print(
                f"{kind:<16} {len(values):6d} {len(values) / elapsed:6.1f} {percentile(values, 50) * 1000:8.0f}"
                f" {percentile(values, 95) * 1000:8.0f} {percentile(values, 99) * 1000:8.0f} {results.errors[kind]:6d}"
            )
    everything = [v for values in results.latency.values() for v in values]
    print(
        f"{'all':<16} {len(everything):6d} {len(everything) / elapsed:6.1f} {percentile(everything, 50) * 1000:8.0f}"
        f" {percentile(everything, 95) * 1000:8.0f} {percentile(everything, 99) * 1000:8.0f} {errors:6d}"
    )
    for sample in results.samples:
        print("  error:", sample)
    print(
        f"CPU during the run: gunicorn workers {cpu_workers:.1f} s ({cpu_workers / elapsed:.2f} cores),"
        f" this load generator {cpu_own:.1f} s ({cpu_own / elapsed:.2f} cores), machine has {os.cpu_count()} cores;"
        f" load average after {os.getloadavg()[0]:.1f}"
    )
    return results


def verify(db_url: str, results: Results) -> None:
    """Every confirmed write is in the database exactly once; no unconfirmed one is."""
    for label, table, confirmed in (("visits", VISIT_TABLE, results.visits), ("acknowledgements", ACK_TABLE, results.acks)):
        prefixes = {note.split("-")[1] for note in results.attempted}
        rows = []
        for prefix in prefixes:
            rows += benchdb.query(
                db_url, f"SELECT note, COUNT(*) FROM {table} WHERE note LIKE %s GROUP BY note", [f"load-{prefix}-%"]
            )
        stored = dict(rows)
        lost = confirmed - stored.keys()
        duplicated = [note for note, count in stored.items() if count > 1]
        unconfirmed = stored.keys() - confirmed
        print(
            f"{label}: {len(confirmed)} confirmed, {len(stored)} in the database;"
            f" lost {len(lost)}, duplicated {len(duplicated)}, written without confirmation {len(unconfirmed)}"
        )


def cpu_report(cpu_dir: str) -> None:
    per_kind: dict[str, list[float]] = defaultdict(list)
    for path in Path(cpu_dir).glob("*.txt"):
        for line in path.read_text().splitlines():
            kind, _, ms = line.rpartition(" ")
            per_kind[kind].append(float(ms))
    print("\nworker CPU per request (thread CPU time in the gunicorn worker; PostgreSQL's own CPU not included):")
    print(f"{'request':<16} {'count':>6} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'share':>6}")
    grand = sum(sum(v) for k, v in per_kind.items() if k in KINDS) or 1
    for kind in KINDS:
        values = per_kind.get(kind, [])
        if values:
            print(
                f"{kind:<16} {len(values):6d} {statistics.mean(values):8.1f} {percentile(values, 50):8.1f}"
                f" {percentile(values, 95):8.1f} {sum(values) / grand:6.0%}"
            )


if __name__ == "__main__":
    main()
