"""Strategy registry: name -> class, the four shipped strategies plus the user's own from a folder on disk.

``configure(user_dir=...)`` points it at the folder (the Django side does this from the
``QUANTDESK_USER_STRATEGIES_DIR`` setting at start; without it the registry holds the shipped four only).
The folder is scanned on first use and again whenever its files change (a cheap listing of names, sizes and
mtimes on each lookup), so every process (web, workers) serves the same strategies without a restart;
``scan()`` forces a fresh import. Modules that fail are in ``errors()`` (loader.py), never half-registered.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Strategy
    from .loader import LoadError, LoadResult

# The shipped classes and the loader import pandas and numba: they are imported on the first lookup, not when
# Django starts (``configure`` runs in the app's ready(); a ``manage.py`` command that reads no strategy never pays).
_shipped_cache: dict[str, type[Strategy]] = {}

_lock = threading.RLock()
_state: dict = {"folder": None, "stamp": None, "result": None}


def _shipped() -> dict[str, type[Strategy]]:
    if not _shipped_cache:
        with _lock:
            if not _shipped_cache:
                from .chandelier import ChandelierStrategy
                from .drift.strategy import DriftStrategy
                from .logistic.strategy import LogisticStrategy
                from .lorentzian.strategy import LorentzianStrategy

                _shipped_cache.update({cls.name: cls for cls in (LorentzianStrategy, LogisticStrategy,
                                                                  ChandelierStrategy, DriftStrategy)})
    return _shipped_cache


def _empty() -> LoadResult:
    from .loader import LoadResult

    return LoadResult()


def configure(*, user_dir: Path | str | None) -> None:
    """Serve user strategies from ``user_dir`` (None: shipped strategies only). Scanned lazily."""
    with _lock:
        _state["folder"] = None if user_dir is None else Path(user_dir)
        _state["stamp"] = None
        _state["result"] = None


def user_dir() -> Path | None:
    return _state["folder"]


def scan() -> LoadResult:
    """Import the user folder again now (the rescan button and ``manage.py strategies scan``)."""
    with _lock:
        folder = _state["folder"]
        if folder is None:
            _state["result"] = _empty()
            return _state["result"]
        from .loader import folder_stamp, load_folder

        _state["stamp"] = folder_stamp(folder)
        _state["result"] = load_folder(folder, reserved=frozenset(_shipped()))
        return _state["result"]


def _current() -> LoadResult:
    folder = _state["folder"]
    if folder is None:
        if _state["result"] is None:
            _state["result"] = _empty()
        return _state["result"]
    from .loader import folder_stamp

    if _state["result"] is None or folder_stamp(folder) != _state["stamp"]:
        return scan()
    return _state["result"]


def get(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``; KeyError naming the known ones otherwise."""
    shipped = _shipped()
    if name in shipped:
        return shipped[name]
    with _lock:
        found = _current().strategies.get(name)
    if found is None:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(sorted(names()))}")
    return found


def all() -> dict[str, type[Strategy]]:  # noqa: A001 - the agreed API name
    """All registered strategies, name -> class: the shipped ones first, then the user's, in a stable order."""
    with _lock:
        return {**_shipped(), **_current().strategies}


def names() -> list[str]:
    return list(all())


def shipped_names() -> list[str]:
    return list(_shipped())


def is_user(name: str) -> bool:
    return name not in _shipped() and name in all()


def user_file(name: str) -> Path | None:
    """The file a user strategy was loaded from (None for a shipped one)."""
    with _lock:
        return _current().files.get(name)


def errors() -> list[LoadError]:
    """Modules of the user folder that were not registered, with their errors and tracebacks."""
    with _lock:
        return list(_current().errors)
