#!/usr/bin/env python3
"""Bytes on the wire of the patient page, as production serves them (issue 13).

    .venv/bin/python bench/bench_bytes.py [--visits 200]

A throw-away SQLite database with the demo clinic (`manage.py demo`'s cohort)
plus one generated patient of --visits visits; production static files
(`collectstatic` into a temporary STATIC_ROOT with the manifest storage:
hashed names, gzip and, with Brotli installed, .br files) served by
WhiteNoise through the app's middleware. For the demo's longest record and
the long one, a browser's first load (Accept-Encoding: gzip, deflate, br) is
the HTML plus every script, style and icon the page references, each
counted as the compressed body the server sends; a repeat visit is the HTML
alone when every static file comes with a far-future immutable
Cache-Control (checked). Budgets of issue 13: 500 KB and 30 KB.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_LOAD_BUDGET = 500_000
REPEAT_VISIT_BUDGET = 30_000
BROWSER = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
ASSET = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="([^"]+)"', re.I)


def setup() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="cle-bytes-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=f"sqlite:///{scratch / 'bytes.sqlite3'}",
        DJANGO_SECRET_KEY="bench-only-key-signs-nothing-real",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
    )
    import django

    django.setup()
    return scratch


def kb(n: int) -> str:
    return f"{n / 1000:7.1f} KB"


def page_weight(client, url: str) -> tuple[int, int, dict[str, tuple[int, str, str]]]:
    import brotli  # noqa: F401  (WhiteNoise writes .br files only with it)

    page = client.get(url, **BROWSER)
    assert page.status_code == 200, page.status_code
    html_bytes = len(page.content)
    html = page.content
    if page.get("Content-Encoding") == "gzip":
        import gzip

        html = gzip.decompress(html)
    assets = {}
    for ref in dict.fromkeys(ASSET.findall(html.decode())):
        response = client.get(ref, **BROWSER)
        assert response.status_code == 200, (ref, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assets[ref] = (len(body), response.get("Content-Encoding", "identity"), response.get("Cache-Control", ""))
    return html_bytes, page.get("Content-Encoding", "identity"), assets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=200)
    args = parser.parse_args()
    scratch = setup()
    from io import StringIO

    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    static_root = scratch / "static"
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=static_root, STORAGES=storages):
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("demo", stdout=StringIO())
        import json

        from bench.benchdb import generated

        doc = generated(1, args.visits, seed=12, clinic="Demo lupus clinic", prefix="LONG-")
        path = scratch / "long.json"
        path.write_text(json.dumps(doc))
        call_command("import_cohort", str(path), stdout=StringIO())
        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.get(username="demo"))
        html = client.get("/patients/", {"q": ""}).content.decode()
        demo_ids = list(dict.fromkeys(re.findall(r'href="(/patients/[0-9a-f-]{36}/)"', html)))
        long_url = re.findall(r'href="(/patients/[0-9a-f-]{36}/)"', client.get("/patients/", {"q": "LONG-"}).content.decode())[0]
        sizes = {url: len(client.get(url, **BROWSER).content) for url in demo_ids if url != long_url}
        longest_demo = max(sizes, key=sizes.get)
        ok = True
        for label, url in (("demo patient (largest page)", longest_demo), (f"patient of {args.visits} visits", long_url)):
            html_bytes, encoding, assets = page_weight(client, url)
            first = html_bytes + sum(size for size, _, _ in assets.values())
            print(f"\n{label}: {url}")
            print(f"  HTML {kb(html_bytes)} ({encoding})")
            for ref, (size, enc, cache) in assets.items():
                immutable = "max-age=315360000" in cache and "immutable" in cache
                ok &= immutable
                print(f"  {kb(size)} ({enc:<8}) {ref}{'' if immutable else '  NOT cached immutably: ' + cache}")
            print(f"  first load {kb(first)} (budget {kb(FIRST_LOAD_BUDGET)}); repeat visit {kb(html_bytes)} (budget {kb(REPEAT_VISIT_BUDGET)})")
            ok &= first <= FIRST_LOAD_BUDGET and html_bytes <= REPEAT_VISIT_BUDGET
        print("\nwithin budget" if ok else "\nOVER BUDGET")


if __name__ == "__main__":
    main()
