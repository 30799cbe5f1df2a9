"""The user-strategy loader and registry (pure): files dropped into a folder are discovered, a broken module is
listed with its traceback while the others keep working, a module is never half-registered, names are
unique, edits are picked up without a restart, and the example file is the template."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from strategies.algos import registry
from strategies.algos.loader import load_folder, source_sha256
from strategies.algos.template import render
from tests.strategies.user_files import HALF_GOOD, PEEKER, RAISES_ON_IMPORT, SYNTAX_ERROR, template, write

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path):
    registry.configure(user_dir=tmp_path)
    yield tmp_path
    registry.configure(user_dir=None)


def test_dropped_file_is_discovered_and_broken_ones_are_listed_with_tracebacks(folder):
    write(folder, {"my_cross.py": template(), "broken.py": SYNTAX_ERROR, "raises.py": RAISES_ON_IMPORT,
                   "half.py": HALF_GOOD, "_helper.py": SYNTAX_ERROR, "notes.txt": "not python"})
    cls = registry.get("my_cross")
    assert cls.name == "my_cross" and registry.is_user("my_cross") and registry.user_file("my_cross") == folder / "my_cross.py"
    assert registry.names()[:4] == ["lorentzian", "logistic", "chandelier", "drift"]
    assert set(registry.names()) == {"lorentzian", "logistic", "chandelier", "drift", "my_cross"}
    errors = {Path(e.path).name: e for e in registry.errors()}
    assert set(errors) == {"broken.py", "raises.py", "half.py"}  # _helper.py is skipped by name
    assert "SyntaxError" in errors["broken.py"].message and "broken.py" in errors["broken.py"].traceback
    assert "the data file this strategy wants is missing" in errors["raises.py"].message
    assert 'raise RuntimeError' in errors["raises.py"].traceback
    # the good class of half.py is not registered either: the module is all or nothing
    assert "Bad.timeframe" in errors["half.py"].message and "7m" in errors["half.py"].message
    with pytest.raises(KeyError, match="half_good"):
        registry.get("half_good")
    # the shipped strategies keep working next to the broken modules
    assert registry.get("chandelier")().warmup_bars() > 0


def test_names_must_be_unique_and_not_shipped(tmp_path):
    write(tmp_path, {"a.py": template("twin"), "b.py": template("twin"), "c.py": template("chandelier")})
    result = load_folder(tmp_path, reserved=frozenset(registry.shipped_names()))
    assert list(result.strategies) == ["twin"] and result.files["twin"].name == "a.py"
    messages = {Path(e.path).name: e.message for e in result.errors}
    assert "already used by a.py" in messages["b.py"]
    assert "'chandelier' is a shipped strategy" in messages["c.py"]


def test_an_edited_file_is_reloaded_and_a_removed_one_disappears(folder):
    path = write(folder, {"mine.py": template("first_name")}) / "mine.py"
    v1 = source_sha256(registry.get("first_name"))
    path.write_text(template("second_name"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert "second_name" in registry.names() and "first_name" not in registry.names()
    assert source_sha256(registry.get("second_name")) != v1
    path.unlink()
    assert registry.names() == registry.shipped_names()


def test_a_module_defining_no_strategy_is_reported(tmp_path):
    write(tmp_path, {"empty.py": "X = 1\n", "peek.py": PEEKER})
    result = load_folder(tmp_path)
    assert list(result.strategies) == ["peeker"]
    assert "defines no Strategy subclass" in result.errors[0].message


def test_template_names_are_checked_and_the_example_is_the_template():
    with pytest.raises(ValueError, match="name"):
        render("Bad Name")
    assert (REPO / "user_strategies" / "_example.py").read_text() == render("example")[0]


def test_shipped_versions_hash_their_whole_package():
    lor = registry.get("lorentzian")
    assert len(source_sha256(lor)) == 64 and source_sha256(lor) != source_sha256(registry.get("logistic"))
