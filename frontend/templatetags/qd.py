"""Template filters for numbers the pages print: ``pct`` (a fraction as percent) and ``num`` (fixed digits);
None/NaN print as an en dash."""

from __future__ import annotations

import math

from django import template

register = template.Library()


def _ok(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@register.filter
def pct(value, digits: int = 1) -> str:
    return f"{100 * value:.{int(digits)}f} %" if _ok(value) else "–"


@register.filter
def num(value, digits: int = 2) -> str:
    return f"{value:,.{int(digits)}f}" if _ok(value) else "–"
