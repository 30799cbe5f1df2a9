"""Strategy registry: name -> class. The Django side validates StrategyConfig params and renders forms from it."""

from __future__ import annotations

from .base import Strategy
from .chandelier import ChandelierStrategy
from .drift.strategy import DriftStrategy
from .logistic.strategy import LogisticStrategy
from .lorentzian.strategy import LorentzianStrategy

_REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (LorentzianStrategy, LogisticStrategy, ChandelierStrategy, DriftStrategy)
}


def get(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``; KeyError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def all() -> dict[str, type[Strategy]]:  # noqa: A001 - the agreed API name
    """All registered strategies, name -> class, in a stable order."""
    return dict(_REGISTRY)


def names() -> list[str]:
    return list(_REGISTRY)
