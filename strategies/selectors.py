"""Read queries of the strategies app for the API and the pages: each strategy with its current version's
bias-check summary, and the user modules that failed to load."""

from __future__ import annotations

from typing import Any

from strategies.algos.bias_suite import first_failure_text
from strategies.models import BiasCheck, Strategy, StrategyLoadError


def bias_summary(*, strategy: Strategy) -> dict[str, Any] | None:
    """The current version's check: status, pass/fail per check with its detail and first failing bar."""
    check = (BiasCheck.objects.filter(strategy=strategy, source_sha256=strategy.source_sha256).first()
             if strategy.source_sha256 else None)
    if check is None:
        return None
    checks = {}
    for name, res in (check.results or {}).get("checks", {}).items():
        checks[name] = {"passed": res.get("passed"), "detail": res.get("detail", ""),
                        "first_failure": None if res.get("passed") else first_failure_text(res),
                        "failures": res.get("failures", [])[:10]}
    return {"version": check.source_sha256[:10], "status": check.status, "passed": check.passed,
            "blocking_failures": check.blocking_failures, "bars_per_second": check.bars_per_second,
            "data": (check.results or {}).get("data", ""), "error": check.error, "checks": checks,
            "finished_at": check.finished_at.isoformat() if check.finished_at else None}


def strategies_overview() -> list[dict[str, Any]]:
    """Every strategy row (available first) with its schema, origin, version and bias summary."""
    from strategies.algos import registry

    loaded = registry.all()
    rows = []
    for s in Strategy.objects.order_by("-available", "origin", "key"):
        schema = loaded[s.key].schema_json() if s.key in loaded else (s.schema or {"params": [], "plots": []})
        rows.append({"id": s.pk, "key": s.key, "label": s.label, "origin": s.origin,
                     "available": s.available and s.key in loaded, "source_path": s.source_path,
                     "version": s.source_sha256[:10], "schema": schema,
                     "bias": bias_summary(strategy=s)})
    return rows


def load_errors() -> list[dict[str, Any]]:
    return [{"path": e.path, "message": e.message, "traceback": e.traceback, "seen_at": e.seen_at.isoformat()}
            for e in StrategyLoadError.objects.order_by("path")]
