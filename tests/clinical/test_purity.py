"""The one purity check of the clinical core (architecture.md): no module of
clinical/ imports Django, directly or through anything it imports.

A fresh interpreter imports every module of the package (found by walking the
directory, so a new module is covered without editing this test) and then
lists what sys.modules holds. A module that imports Django, or imports a
project module that does (patients, scoring, clinic), fails the check with
its name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PROBE = r"""
import importlib, json, pkgutil, sys
import clinical
names = sorted(
    m.name for m in pkgutil.walk_packages(clinical.__path__, "clinical.")
)
culprits = {}
for name in names:
    before = set(sys.modules)
    importlib.import_module(name)
    new = set(sys.modules) - before
    bad = sorted(
        m for m in new
        if m.split(".")[0] in {"django", "patients", "scoring", "clinic"}
    )
    if bad:
        culprits[name] = bad[:5]
print(json.dumps({"modules": names, "culprits": culprits}))
"""


def test_no_module_of_the_clinical_core_imports_django() -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # The walk must actually see the package (a broken walk would pass vacuously).
    assert {"clinical.record", "clinical.rules.flares", "clinical.charts.trend"} <= set(
        found["modules"]
    )
    assert found["culprits"] == {}, f"clinical/ modules importing Django: {found['culprits']}"
