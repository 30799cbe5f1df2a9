"""House rules for trading/engine and trading/research: no Django/Celery/Channels/pybit imports (checked in the source and in a
fresh interpreter), a docstring at the top of every module, and no module over 450 lines."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "trading" / "engine"
FORBIDDEN = ("django", "celery", "channels", "pybit", "rest_framework")
RESEARCH = ENGINE.parent / "research"
MODULES = sorted(ENGINE.glob("*.py")) + sorted(RESEARCH.glob("*.py"))


def test_source_imports_nothing_forbidden():
    assert len(MODULES) >= 10
    for path in MODULES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_importing_the_engine_loads_nothing_forbidden():
    mods = ", ".join(f"trading.{p.parent.name}.{p.stem}" for p in MODULES if p.stem != "__init__")
    code = (f"import sys, {mods}\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ENGINE.parents[1], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_docstrings_and_module_size():
    for path in MODULES:
        text = path.read_text()
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"
        assert len(text.splitlines()) <= 450, f"{path.name} is over 450 lines"
