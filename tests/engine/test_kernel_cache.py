"""Cached numba kernels are dropped when any source of the kernel packages changes (numba itself only watches
the kernel's own file), kept when nothing changed, and looked for where numba puts them."""

from __future__ import annotations

from pathlib import Path

from trading.engine.kernel_cache import STAMP, cache_dirs, ensure_fresh


def _package(root: Path) -> Path:
    pkg = root / "engine"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "kernel.py").write_text("from .rules import step\n")
    (pkg / "rules.py").write_text("def step(x):\n    return x + 1\n")
    (pkg / "sub" / "more.py").write_text("X = 1\n")
    return pkg


def _cached(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "kernel.run-3.py311.nbi", folder / "kernel.run-3.py311.1.nbc"]
    for f in files:
        f.write_bytes(b"compiled")
    return files


def test_a_change_in_an_inlined_file_drops_the_cached_kernels(tmp_path):
    pkg = _package(tmp_path)
    assert ensure_fresh([pkg]) == 0  # first look: nothing cached yet, the digest is stored
    assert (pkg / "__pycache__" / STAMP).exists()
    kernel, sub = _cached(pkg / "__pycache__"), _cached(pkg / "sub" / "__pycache__")
    assert ensure_fresh([pkg]) == 0 and all(f.exists() for f in kernel + sub)  # same sources: kept
    (pkg / "rules.py").write_text("def step(x):\n    return x + 2\n")  # kernel.py itself untouched
    assert ensure_fresh([pkg]) == 4
    assert not any(f.exists() for f in kernel + sub)
    again = _cached(pkg / "__pycache__")
    assert ensure_fresh([pkg]) == 0 and all(f.exists() for f in again)  # the new digest was stored


def test_only_contents_count_not_timestamps(tmp_path):
    pkg = _package(tmp_path)
    ensure_fresh([pkg])
    kernel = _cached(pkg / "__pycache__")
    rules = pkg / "rules.py"
    rules.write_text(rules.read_text())  # a checkout that rewrites the same bytes
    assert ensure_fresh([pkg]) == 0 and all(f.exists() for f in kernel)


def test_numba_cache_dir_mirrors_the_source_folder(tmp_path):
    pkg = _package(tmp_path / "src")
    cache = tmp_path / "numba"
    mirrored = cache / pkg.relative_to(pkg.anchor)
    assert cache_dirs([pkg], str(cache))[0] == mirrored
    ensure_fresh([pkg], numba_cache_dir=str(cache))
    kernel = _cached(mirrored)
    (pkg / "sub" / "more.py").write_text("X = 2\n")
    assert ensure_fresh([pkg], numba_cache_dir=str(cache)) == 2 and not any(f.exists() for f in kernel)
    assert not (pkg / "__pycache__").exists()  # nothing written beside the sources
