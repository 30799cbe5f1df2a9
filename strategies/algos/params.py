"""Typed strategy parameters: ``ParamSpec`` (one field of a form), ``ParamError`` and validation of a dict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PARAM_TYPES = ("int", "float", "bool", "choice")


class ParamError(ValueError):
    """A rejected parameter; ``field`` names it and the message names the field and the limit."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its name, type (int/float/bool/choice), default, bounds or choices and a help text."""

    name: str
    type: str
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple = field(default=())
    help: str = ""

    def __post_init__(self):
        if self.type not in PARAM_TYPES:
            raise ValueError(f"{self.name}: unknown parameter type {self.type!r}")
        if self.type == "choice" and self.default not in self.choices:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of {list(self.choices)}")
        if self.type in ("int", "float"):
            self.coerce(self.default)  # a spec whose default breaks its own limits is a bug

    def to_json(self) -> dict:
        """JSON-serialisable description for forms and the REST API."""
        out = {"name": self.name, "type": self.type, "default": self.default, "help": self.help}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.type == "choice":
            out["choices"] = list(self.choices)
        return out

    def coerce(self, value: Any) -> Any:
        """The validated value, converted to the spec's type; raises ParamError naming the field and limit."""
        name = self.name
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ParamError(name, f"{value!r} is not a boolean")
        if self.type == "choice":
            if value not in self.choices:
                raise ParamError(name, f"{value!r} is not one of {list(self.choices)}")
            return value
        if isinstance(value, bool):
            raise ParamError(name, f"{value!r} is not a number")
        if self.type == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, str):
                try:
                    value = int(value.strip())
                except ValueError:
                    raise ParamError(name, f"{value!r} is not an integer") from None
            if not isinstance(value, int):
                raise ParamError(name, f"{value!r} is not an integer")
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParamError(name, f"{value!r} is not a number") from None
            if not math.isfinite(value):
                raise ParamError(name, f"{value!r} is not a finite number")
        if self.min is not None and value < self.min:
            raise ParamError(name, f"{value} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise ParamError(name, f"{value} is above the maximum {self.max}")
        return value


def validate_params(specs: Sequence[ParamSpec], params: Mapping[str, Any] | None) -> dict:
    """Every parameter of ``specs``: given values validated, missing ones defaulted, unknown keys rejected."""
    params = dict(params or {})
    known = {s.name for s in specs}
    for key in params:
        if key not in known:
            raise ParamError(str(key), f"unknown parameter (known: {', '.join(sorted(known))})")
    return {s.name: s.coerce(params[s.name]) if s.name in params else s.default for s in specs}
