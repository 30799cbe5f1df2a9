"""House rule: trading/engine and strategies/algos stay framework-free (usable from a notebook)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_data import REPO_ROOT

PURE_PACKAGES = ["trading/engine", "strategies/algos"]
FORBIDDEN = ("django", "rest_framework", "celery", "channels", "channels_redis", "daphne", "pybit",
             "quantdesk", "strategies.models", "trading.models")


def forbidden_imports(path: Path) -> list[str]:
    """Every import in ``path`` (at any depth, including inside functions) of a forbidden package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} imports {name}")
    return found


def test_checker_catches_a_forbidden_import(tmp_path):
    bad = REPO_ROOT / "var" / "tmp_arch_probe.py"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("def f():\n    from django.conf import settings\n    import pybit.unified_trading\n")
    try:
        assert forbidden_imports(bad) == [
            "var/tmp_arch_probe.py:2 imports django.conf",
            "var/tmp_arch_probe.py:3 imports pybit.unified_trading",
        ]
    finally:
        bad.unlink()


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_import_no_framework(package):
    files = sorted((REPO_ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    problems = [p for f in files for p in forbidden_imports(f)]
    assert problems == []


def test_importing_every_pure_module_loads_no_framework():
    """Import them all in a fresh interpreter and look at what ended up in sys.modules."""
    modules = []
    for package in PURE_PACKAGES:
        for f in sorted((REPO_ROOT / package).rglob("*.py")):
            rel = f.relative_to(REPO_ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            modules.append(".".join(parts))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {list(FORBIDDEN)!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "NUMBA_CACHE_DIR": str(REPO_ROOT / "var" / "numba")},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
