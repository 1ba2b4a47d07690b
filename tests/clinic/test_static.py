"""Nothing is fetched from the network: every script and style is the app's own."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parents[2]


def test_htmx_is_served_by_django_htmx():
    assert finders.find("django_htmx/htmx-2.min.js") or finders.find("django-htmx/htmx.min.js")


def test_no_template_or_script_loads_from_another_host():
    remote = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.I)
    css_remote = re.compile(r"""@import|url\(\s*["']?(?:https?:)?//""", re.I)
    offenders = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        if remote.search(path.read_text()):
            offenders.append(str(path))
    # plotly.js builds one link to its maker's site for the modebar logo, which
    # static/js/charts.js hides (displaylogo: false); a link, never a fetch.
    plotly_logo_link = 'r.href="https://plotly.com/"'
    for path in [*ROOT.glob("static/**/*.js"), *ROOT.glob("static/**/*.css")]:
        text = path.read_text().replace(plotly_logo_link, "")
        if remote.search(text) or css_remote.search(text):
            offenders.append(str(path))
    assert offenders == []


def test_no_inline_script_in_templates():
    # A strict Content-Security-Policy must be possible: scripts come from files,
    # data travels in <script type="application/json"> (json_script).
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    offenders = [
        str(p) for p in ROOT.glob("templates/**/*.html") if inline.search(p.read_text())
    ]
    assert offenders == []
    handlers = re.compile(r"\son(?:click|change|input|load|submit|keydown|keyup)\s*=", re.I)
    assert [str(p) for p in ROOT.glob("templates/**/*.html") if handlers.search(p.read_text())] == []


def test_pages_are_sent_compressed(client_a, patient_a):
    from django.urls import reverse

    page = client_a.get(reverse("patients:detail", args=[patient_a.pk]), HTTP_ACCEPT_ENCODING="gzip")
    assert page.status_code == 200
    assert page["Content-Encoding"] == "gzip"
