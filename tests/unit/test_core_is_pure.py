"""sfacal.core imports no web framework, HTTP client, task queue or identity library."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("django", "httpx", "huey", "msal", "requests", "ninja")


def test_core_imports_nothing_heavy() -> None:
    code = (
        "import json, sys, pkgutil, importlib, sfacal.core\n"
        "for m in pkgutil.iter_modules(sfacal.core.__path__): importlib.import_module('sfacal.core.' + m.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = json.loads(out)
    assert "sfacal.core.planner" in loaded and "sfacal.core.twoway" in loaded
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert bad == []
