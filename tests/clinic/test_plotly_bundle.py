"""plotly.js: the vendored partial bundle, its version, the trace types it can draw, the page weight.

The charts are built server-side by the plotly wheel and drawn in the browser
by plotly.js; the two must be the same version (a figure the wheel validates
is one the script draws). Only the npm "basic" partial bundle ships (scatter,
bar, pie: 1.2 MB raw / ~0.4 MB compressed instead of 4.8 / 1.5 MB), so every
figure the pages send may use only those trace types. The figures are read
back from the pages themselves (their json_script blocks), so the check
follows whatever code builds them.
"""

from __future__ import annotations

import gzip
import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

BUNDLE = "vendor/plotly.js-basic/plotly-basic.min.js"
# The trace types registered by plotly.js-basic-dist-min (its README: "bar, pie, scatter").
BASIC_TRACE_TYPES = {"scatter", "bar", "pie"}
# issue 13: the patient page's first load and a repeat visit, compressed as served.
FIRST_LOAD_BUDGET = 500_000
REPEAT_VISIT_BUDGET = 30_000

JSON_SCRIPT = re.compile(r'<script id="([^"]+)" type="application/json">(.*?)</script>', re.S)
ASSET = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="([^"]+)"', re.I)


def bundle_version(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        head = handle.read(300)
    match = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", head)
    assert match, f"{path} does not start with the basic bundle's banner"
    return match.group(1)


def test_only_the_basic_bundle_ships_at_the_wheels_version():
    from plotly.offline import get_plotlyjs_version

    path = finders.find(BUNDLE)
    assert path, f"{BUNDLE} is not a static file"
    assert Path(path).is_relative_to(Path(settings.BASE_DIR) / "static")
    assert bundle_version(path) == get_plotlyjs_version()
    assert (Path(path).parent / "LICENSE").read_text().startswith("MIT License")
    # The wheel's full 4.8 MB bundle is no static file any more.
    assert finders.find("vendor/plotly.min.js") is None


@pytest.fixture
def demo_client(db) -> tuple[Client, list[str]]:
    """A clinician of the demo clinic (the 15 synthetic patients of `make run`)."""
    from io import StringIO

    from clinic.services import enrol
    from patients.demo import load_demo_cohort
    from patients.models import Patient

    enrol("demo.clinician", "Demo lupus clinic", password="demo-password-for-tests-only")
    load_demo_cohort("Demo lupus clinic", stdout=StringIO())
    client = Client()
    client.force_login(_user("demo.clinician"))
    ids = [str(pk) for pk in Patient.objects.values_list("pk", flat=True)]
    assert len(ids) >= 10
    return client, ids


def _user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def figures_of(html: str) -> dict[str, dict]:
    found = {}
    for figure_id, text in JSON_SCRIPT.findall(html):
        data = json.loads(unescape(text))
        if isinstance(data, dict) and "data" in data and "layout" in data:
            found[figure_id] = data
    return found


def test_every_chart_the_pages_send_uses_only_basic_bundle_traces(demo_client):
    client, ids = demo_client
    pages = [reverse("scoring:cohort")] + [reverse("patients:detail", args=[pk]) for pk in ids]
    seen: dict[str, int] = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        figures = figures_of(html)
        if figures:
            assert BUNDLE in html, f"{url} draws a chart without loading plotly.js"
        for figure_id, figure in figures.items():
            for trace in figure["data"]:
                kind = trace.get("type", "scatter")  # plotly's default trace type
                seen[kind] = seen.get(kind, 0) + 1
                assert kind in BASIC_TRACE_TYPES, f"{url} #{figure_id}: trace type {kind}"
    # The demo draws the trend chart of every patient and both cohort charts.
    assert seen.get("scatter", 0) > len(ids)


def test_pages_without_a_chart_do_not_load_plotly(demo_client):
    client, ids = demo_client
    for url in [
        reverse("patients:list"),
        reverse("scoring:attention"),
        reverse("patients:visit_create", args=[ids[0]]),
    ]:
        html = client.get(url).content.decode()
        assert "plotly" not in html, url


def _compressed_size(path: str) -> int:
    # WhiteNoise serves files pre-compressed at gzip level 9 (and brotli, smaller still,
    # when the Brotli package is installed): gzip -9 is the upper bound of what travels.
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9))


def test_the_patient_page_is_light_on_first_load_and_lighter_on_a_repeat_visit(demo_client):
    from patients.models import Patient

    client, _ = demo_client
    patient = max(Patient.objects.all(), key=lambda p: p.visits.count())
    response = client.get(reverse("patients:detail", args=[patient.pk]), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    html_bytes = len(response.content)
    html = gzip.decompress(response.content).decode()
    assets = {}
    for url in ASSET.findall(html):
        assert url.startswith(settings.STATIC_URL) or url.startswith("/" + settings.STATIC_URL), url
        name = url.split(settings.STATIC_URL, 1)[1]
        path = finders.find(name)
        assert path, f"{name} is referenced but not a static file"
        assets[name] = _compressed_size(path)
    assert BUNDLE in assets and "js/charts.js" in assets
    first_load = html_bytes + sum(assets.values())
    assert first_load <= FIRST_LOAD_BUDGET, (first_load, assets)
    # A repeat visit: the static files have hashed names cached for a year
    # (production storage below), so only the HTML travels again.
    assert html_bytes <= REPEAT_VISIT_BUDGET


def test_production_serves_hashed_compressed_static_files():
    # The repeat-visit budget holds because production names static files by content hash
    # and WhiteNoise sends them with a year's immutable cache; checked on the real settings'
    # default (the test settings use the plain storage, without collectstatic).
    import importlib

    source = Path(settings.BASE_DIR, "clinic", "settings.py").read_text()
    assert '"whitenoise.storage.CompressedManifestStaticFilesStorage"' in source
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
    importlib.import_module("brotli")  # WhiteNoise writes .br files only when it is installed
