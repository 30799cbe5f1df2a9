"""Keeps numba's on-disk kernel cache in step with the source it was compiled from.

numba (``@njit(cache=True)``) keys a cached kernel on its OWN file's modification time and size. A kernel that
inlines or calls a function of another file (``portfolio_kernel.run_steps`` inlines rules.py, portfolio_events.py,
rebalance.py ...) keeps running the old machine code after only that other file changed: an upgrade that fixes a
rule would leave the backtests and the monitor on the old rule. So the first import of ``trading.engine`` or
``strategies.algos`` in a process compares a digest of every ``.py`` file of both packages (their contents, not
their timestamps: a checkout that only touches files recompiles nothing) with the digest stored beside the cache,
and when it differs drops every cached kernel (``*.nbi`` / ``*.nbc``) of those packages and stores the new digest.
The cost is one read of ~40 small files per process (about a millisecond).

Caches live in each package folder's ``__pycache__``, or under ``NUMBA_CACHE_DIR`` when that is set (numba then
mirrors the source folder's absolute path below it). Two processes starting at once after an upgrade may both
clear: the only cost is a compile.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

STAMP = ".qd-kernel-sources"
_checked = False


def kernel_packages() -> list[Path]:
    """The source folders whose kernels are cached: trading/engine and strategies/algos."""
    engine = Path(__file__).resolve().parent
    return [engine, engine.parents[1] / "strategies" / "algos"]


def _sources(roots: list[Path]) -> list[tuple[Path, Path]]:
    """(root, file) for every .py file below ``roots``, in path order (one walk serves the digest and the dirs)."""
    return [(root, path) for root in roots for path in sorted(root.rglob("*.py")) if "__pycache__" not in path.parts]


def sources_digest(roots: list[Path], sources: list[tuple[Path, Path]] | None = None) -> str:
    """sha256 over every .py file below ``roots`` (relative path and contents, in path order)."""
    h = hashlib.sha256()
    for root, path in sources if sources is not None else _sources(roots):
        h.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def cache_dirs(roots: list[Path], numba_cache_dir: str | None,
               sources: list[tuple[Path, Path]] | None = None) -> list[Path]:
    """Where numba keeps the cached kernels of every source folder below ``roots``."""
    walk = sources if sources is not None else _sources(roots)
    folders = [f for root in roots for f in sorted({path.parent for r, path in walk if r == root})]
    if numba_cache_dir:
        return [Path(numba_cache_dir) / folder.relative_to(folder.anchor) for folder in folders]
    return [folder / "__pycache__" for folder in folders]


def ensure_fresh(roots: list[Path] | None = None, *, numba_cache_dir: str | None = None) -> int:
    """Drop the cached kernels when the sources changed since they were cached; returns how many files went.
    Without arguments: the desk's kernel packages, once per process."""
    global _checked
    default = roots is None
    if default:
        if _checked:
            return 0
        _checked = True
        roots = kernel_packages()
        numba_cache_dir = os.environ.get("NUMBA_CACHE_DIR") or None
    roots = [r for r in roots if r.is_dir()]
    if not roots:
        return 0
    sources = _sources(roots)
    if not sources:
        return 0
    dirs = cache_dirs(roots, numba_cache_dir, sources)
    stamp = dirs[0] / STAMP
    digest = sources_digest(roots, sources)
    try:
        if stamp.read_text() == digest:
            return 0
    except OSError:
        pass
    removed = 0
    for d in dirs:
        for pattern in ("*.nbi", "*.nbc"):
            for f in d.glob(pattern):
                try:
                    f.unlink()
                    removed += 1
                except OSError:
                    pass
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f"{STAMP}.{os.getpid()}.tmp")
        tmp.write_text(digest)
        os.replace(tmp, stamp)
    except OSError:  # a read-only install: numba cannot write its cache there either
        pass
    return removed
