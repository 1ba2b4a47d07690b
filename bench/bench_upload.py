#!/usr/bin/env python3
"""How long a browser upload holds a web worker, and what the server answers
meanwhile, against a running server (gunicorn + run_jobs, e.g. docker/entrypoint.sh all).

    .venv/bin/python bench/bench_upload.py --base http://127.0.0.1:8101 \
        --user loaduser --password ... --clinic-name "Upload clinic" FILE.json \
        [--download-clinic "Load clinic"]

Signs in through the login form, uploads FILE to the clinic's import page,
times the POST (the web worker's share), then polls the job page until the
import ends, timing /healthz and the login page every second meanwhile.
With --download-clinic it also times that clinic's export and visits CSV
(the longest web requests left). Only talks to the given server (loopback).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import statistics
import time
import urllib.parse
import urllib.request
import uuid


def _opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _timed(opener, url: str, data=None, headers=None) -> tuple[float, int, bytes, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=900) as response:
            body = response.read()
            return time.perf_counter() - started, response.status, body, response.url
    except urllib.error.HTTPError as error:
        return time.perf_counter() - started, error.code, error.read(), url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--base", default="http://127.0.0.1:8101")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--clinic-name", required=True)
    parser.add_argument("--download-clinic")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    opener, _ = _opener()

    _, _, body, _ = _timed(opener, f"{base}/accounts/login/")
    form = urllib.parse.urlencode(
        {"username": args.user, "password": args.password, "csrfmiddlewaretoken": _csrf(body.decode())}
    ).encode()
    _, status, body, url = _timed(opener, f"{base}/accounts/login/", form, {"Referer": f"{base}/accounts/login/"})
    assert "/accounts/login/" not in url, "sign-in failed"

    _, _, index, _ = _timed(opener, f"{base}/exchange/")
    html = index.decode()
    # The clinic's section: its import link follows its heading.
    section = html.split(f"<h2>{args.clinic_name}</h2>", 1)[1]
    upload_path = re.search(r'href="(/exchange/[0-9a-f-]+/import/)"', section).group(1)
    _, _, page, _ = _timed(opener, base + upload_path)
    token = _csrf(page.decode())

    content = open(args.file, "rb").read()
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="load.json"\r\n'
        "Content-Type: application/json\r\n\r\n".encode(),
        content,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    data = b"".join(parts)
    held, status, body, job_url = _timed(
        opener, base + upload_path, data,
        {"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": base + upload_path},
    )
    print(f"upload POST of {len(content) / 1e6:.1f} MB: {held:.2f} s, answered {status} at {job_url}")
    assert "/jobs/" in job_url, body[:500]

    started = time.perf_counter()
    health, login = [], []
    while True:
        t, _, _, _ = _timed(urllib.request.build_opener(), f"{base}/healthz")
        health.append(t)
        t, _, _, _ = _timed(urllib.request.build_opener(), f"{base}/accounts/login/")
        login.append(t)
        t, _, poll, _ = _timed(opener, job_url, headers={"HX-Request": "true"})
        text = poll.decode()
        if "Imported." in text or "Nothing was imported" in text:
            break
        time.sleep(1)
    total = time.perf_counter() - started
    outcome = re.sub(r"<[^>]+>", " ", text)
    print(f"job finished after {total:.1f} s: {' '.join(outcome.split())[:160]}")
    for name, times in (("healthz", health), ("login page", login)):
        print(
            f"{name} during the import: n={len(times)} median {statistics.median(times) * 1000:.0f} ms,"
            f" max {max(times) * 1000:.0f} ms"
        )

    if args.download_clinic:
        section = html.split(f"<h2>{args.download_clinic}</h2>", 1)[1]
        for name in ("export.json", "visits.csv"):
            path = re.search(rf'href="(/exchange/[0-9a-f-]+/{re.escape(name)})"', section).group(1)
            t, status, body, _ = _timed(opener, base + path)
            print(f"{name} of {args.download_clinic}: {t:.2f} s, {status}, {len(body) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
