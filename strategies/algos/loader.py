"""The loader of user strategies (pure: no Django): import each module of a folder on the desk's own disk by
file path, find the ``Strategy`` subclasses it defines, check each declares a usable schema, and return
(strategies, errors with tracebacks).

Trust boundary: this runs whatever Python the folder holds, with the desk's rights. Only files already on the
desk's disk are loaded (nothing is ever uploaded through the web API); who may write to the folder decides
who may run code on the desk.

A module is all or nothing: when it fails to import, or any strategy it defines fails its checks (a bad or
duplicate ``name``, a bad schema or plot declaration, defaults that do not construct), none of its
strategies is registered and the module is listed with the error and its traceback. Files whose names start
with ``_`` or ``.`` are skipped (``_example.py`` is the shipped example: copy it to use it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .base import TIMEFRAME_SECONDS, DefaultSizing, ParamSpec, Strategy
from .plots import PlotSpec

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MODULE_PREFIX = "qd_user_strategies"


@dataclass(frozen=True)
class LoadError:
    """A module that was not registered: its file, a one-line message, and the full traceback."""

    path: str
    message: str
    traceback: str = ""

    def to_json(self) -> dict:
        return {"path": self.path, "message": self.message, "traceback": self.traceback}


@dataclass
class LoadResult:
    strategies: dict[str, type[Strategy]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # name -> source file
    errors: list[LoadError] = field(default_factory=list)


class StrategyDeclarationError(ValueError):
    """A strategy class that does not declare what the desk needs (message names the attribute)."""


def candidate_files(folder: Path) -> list[Path]:
    """The modules the loader imports, in a stable order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(("_", ".")))


def folder_stamp(folder: Path) -> tuple:
    """A cheap fingerprint of the folder (names, sizes, mtimes): when it changes, the folder is scanned again."""
    out = []
    for p in candidate_files(folder):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def check_declaration(cls: type[Strategy]) -> None:
    """Raise StrategyDeclarationError unless ``cls`` declares a name, label, timeframe, sizing, a schema whose
    defaults construct the strategy, and valid plot specs."""
    name = getattr(cls, "name", None)
    where = f"{cls.__qualname__}"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise StrategyDeclarationError(f"{where}.name: {name!r} must be 2-40 characters of a-z, 0-9 and _, "
                                       "starting with a letter")
    if not isinstance(getattr(cls, "label", None), str) or not cls.label.strip():
        raise StrategyDeclarationError(f"{where}.label: a non-empty text is required")
    if cls.timeframe not in TIMEFRAME_SECONDS:
        raise StrategyDeclarationError(f"{where}.timeframe: {cls.timeframe!r} is not one of "
                                       f"{', '.join(TIMEFRAME_SECONDS)}")
    if not isinstance(getattr(cls, "default_sizing", None), DefaultSizing):
        raise StrategyDeclarationError(f"{where}.default_sizing: a DefaultSizing(...) is required")
    params = cls.PARAMS
    if not isinstance(params, tuple) or not all(isinstance(p, ParamSpec) for p in params):
        raise StrategyDeclarationError(f"{where}.PARAMS: must be a tuple of ParamSpec")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise StrategyDeclarationError(f"{where}.PARAMS: parameter names repeat: {names}")
    cls.schema_json()
    instance = cls()  # the defaults must construct it (validate_params runs here)
    warmup = instance.warmup_bars()
    if not isinstance(warmup, int) or warmup < 1:
        raise StrategyDeclarationError(f"{where}.warmup_bars(): {warmup!r} must be a positive integer")
    plots = cls.plots()
    if not all(isinstance(p, PlotSpec) for p in plots):
        raise StrategyDeclarationError(f"{where}.plots(): must return PlotSpec items")


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"{MODULE_PREFIX}.{stem}_{digest}"


def _import(path: Path):
    """Import ``path`` as a fresh module (an earlier version is replaced); removed again if it fails."""
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and pickling look the module up while it executes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    return module


def strategies_of(module) -> list[type[Strategy]]:
    """Concrete Strategy subclasses defined in ``module`` itself (not imported into it)."""
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Strategy) and obj is not Strategy and obj.__module__ == module.__name__
            and not inspect.isabstract(obj)]


def load_folder(folder: Path | str, *, reserved: set[str] | frozenset[str] = frozenset()) -> LoadResult:
    """Import every candidate module of ``folder``; names in ``reserved`` (the shipped strategies) and names
    already taken by an earlier file are refused. Never raises for a bad module."""
    folder = Path(folder)
    result = LoadResult()
    for path in candidate_files(folder):
        try:
            module = _import(path)
        except BaseException as exc:  # a module may raise anything, SystemExit included
            if isinstance(exc, KeyboardInterrupt):
                raise
            result.errors.append(LoadError(str(path), f"import failed: {type(exc).__name__}: {exc}",
                                           traceback.format_exc()))
            continue
        found = strategies_of(module)
        if not found:
            result.errors.append(LoadError(str(path), "defines no Strategy subclass (class X(Strategy) with a "
                                                      "name, label, default_sizing, PARAMS and _compute); name "
                                                      "helper modules _helper.py"))
            continue
        accepted: dict[str, type[Strategy]] = {}
        try:
            for cls in found:
                check_declaration(cls)
                if cls.name in reserved:
                    raise StrategyDeclarationError(f"{cls.__qualname__}.name: {cls.name!r} is a shipped strategy")
                if cls.name in result.strategies or cls.name in accepted:
                    other = result.files.get(cls.name, path)
                    raise StrategyDeclarationError(f"{cls.__qualname__}.name: {cls.name!r} is already used by "
                                                   f"{Path(other).name}")
                accepted[cls.name] = cls
        except Exception as exc:
            result.errors.append(LoadError(str(path), f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            continue
        for name, cls in accepted.items():
            result.strategies[name] = cls
            result.files[name] = path
    return result


def source_files(cls: type) -> list[Path]:
    """The files a strategy's version depends on: its module's file, and for a shipped strategy living in a
    sub-package of strategies/algos (lorentzian/, drift/...) every module of that package."""
    file = Path(inspect.getfile(cls)).resolve()
    module = cls.__module__
    if module.startswith("strategies.algos.") and module.count(".") >= 3:
        return sorted(file.parent.glob("*.py"))
    return [file]


def source_sha256(cls: type) -> str:
    """The version of a strategy: sha256 over its source file(s)."""
    h = hashlib.sha256()
    for p in source_files(cls):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()
