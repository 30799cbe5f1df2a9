"""Use cases of the strategies app: scan the registry (shipped + user folder) into Strategy rows and load
errors, run and store the bias checks of a strategy version, and the enable gate that refuses a version
failing lookahead or window independence. Keyword-only and typed, like trading/services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from strategies.algos import registry
from strategies.algos.bias_suite import BLOCKING, first_failure_text, run_suite
from strategies.algos.loader import source_sha256
from strategies.models import BiasCheck, Strategy, StrategyConfig, StrategyLoadError

log = logging.getLogger(__name__)


@dataclass
class ScanReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # keys whose current version has no bias check yet


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _row_fields(key: str, cls) -> dict:
    path = registry.user_file(key)
    return {"origin": "user" if path is not None else "shipped",
            "source_path": str(path) if path is not None else cls.__module__,
            "source_sha256": source_sha256(cls), "schema": cls.schema_json(), "available": True}


def scan_strategies(*, rescan: bool = True) -> ScanReport:
    """Import the user folder again (``rescan``), give every registered strategy a Strategy row (defaults
    from its class on creation; version, schema and source refreshed every time), mark rows whose module is
    gone unavailable, and replace the stored load errors with this scan's."""
    if rescan:
        registry.scan()
    report = ScanReport()
    classes = registry.all()
    with transaction.atomic():
        for key, cls in classes.items():
            sizing = cls.default_sizing
            fields = _row_fields(key, cls)
            row, created = Strategy.objects.get_or_create(key=key, defaults={
                "label": cls.label, "description": (cls.__doc__ or "").strip().split("\n")[0][:500],
                "default_leverage": Decimal(str(sizing.leverage)), "default_sizing_mode": sizing.mode,
                "default_allocation": _dec(sizing.allocation), "default_kelly_fraction": _dec(sizing.kelly_fraction),
                "default_timeframe": cls.timeframe, **fields})
            if created:
                report.created.append(key)
            elif any(getattr(row, k) != v for k, v in fields.items()):
                Strategy.objects.filter(pk=row.pk).update(**fields)
                report.updated.append(key)
            if not BiasCheck.objects.filter(strategy=row, source_sha256=fields["source_sha256"],
                                            status="done").exists():
                report.unchecked.append(key)
        gone = Strategy.objects.filter(available=True).exclude(key__in=list(classes))
        report.unavailable = list(gone.values_list("key", flat=True))
        gone.update(available=False)
        errors = registry.errors()
        StrategyLoadError.objects.exclude(path__in=[e.path for e in errors]).delete()
        for e in errors:
            StrategyLoadError.objects.update_or_create(path=e.path, defaults={"message": e.message,
                                                                              "traceback": e.traceback})
            report.errors.append(e.to_json())
    for e in report.errors:
        log.warning("user strategy module not loaded: %s: %s", e["path"], e["message"])
    return report


def queue_bias_checks(*, keys: list[str]) -> list[str]:
    """One Celery task per strategy on the research queue, after the current transaction commits."""
    from strategies.tasks import RESEARCH_QUEUE, run_bias_checks_task

    ids: list[str] = []

    def send():
        for key in keys:
            ids.append(run_bias_checks_task.apply_async(args=[key], queue=RESEARCH_QUEUE).id)

    transaction.on_commit(send)
    return ids


def current_version(*, key: str) -> tuple[type, str]:
    cls = registry.get(key)
    return cls, source_sha256(cls)


def run_bias_checks(*, key: str, force: bool = False) -> BiasCheck:
    """Run the suite on ``key``'s current version with its default parameters and store the result (a version
    already checked is returned as stored unless ``force``)."""
    cls, sha = current_version(key=key)
    strategy = Strategy.objects.filter(key=key).first()
    if strategy is None or strategy.source_sha256 != sha:
        scan_strategies(rescan=False)
        strategy = Strategy.objects.get(key=key)
    check, _ = BiasCheck.objects.get_or_create(strategy=strategy, source_sha256=sha)
    if check.status == "done" and not force:
        return check
    BiasCheck.objects.filter(pk=check.pk).update(status="running", error="")
    try:
        outcome = run_suite(cls(), bars=settings.QUANTDESK_BIAS_CHECK_BARS,
                            speed_bars=settings.QUANTDESK_BIAS_SPEED_BARS,
                            positions=settings.QUANTDESK_BIAS_POSITIONS,
                            shared_dir=Path(settings.QUANTDESK_SHARED_DATA))
    except Exception as exc:
        log.exception("bias checks of %s failed to run", key)
        check.status, check.error, check.finished_at = "error", f"{type(exc).__name__}: {exc}", timezone.now()
        check.save(update_fields=["status", "error", "finished_at"])
        return check
    check.status, check.finished_at, check.results = "done", timezone.now(), outcome
    check.passed, check.blocking_failures = outcome["passed"], outcome["blocking_failures"]
    check.bars_per_second = outcome["checks"]["speed"].get("bars_per_second")
    check.save()
    if check.blocking_failures:
        disabled = StrategyConfig.objects.filter(strategy=strategy, enabled=True)
        ids = list(disabled.values_list("pk", flat=True))
        if ids:
            disabled.update(enabled=False)
            log.warning("strategy %s version %s is biased (%s): disabled configs %s", key, sha[:10],
                        ", ".join(check.blocking_failures), ids)
    return check


def bias_refusal(check: BiasCheck) -> str | None:
    """The message refusing an enable for a check with a blocking failure (None when it may be enabled)."""
    if check.status != "done":
        return None
    for name in BLOCKING:
        result = check.results.get("checks", {}).get(name, {})
        if name in check.blocking_failures:
            return (f"enabled: strategy {check.strategy.key!r} version {check.source_sha256[:10]} fails the "
                    f"{name.replace('_', ' ')} check at {first_failure_text(result)}; it cannot trade on paper "
                    "or live (backtests still run, marked biased)")
    return None


def stored_refusal(*, strategy: Strategy) -> str | None:
    """Cheap: the refusal for the strategy's current stored version, if a finished check failed."""
    check = BiasCheck.objects.filter(strategy=strategy, source_sha256=strategy.source_sha256,
                                     status="done").first() if strategy.source_sha256 else None
    return None if check is None else bias_refusal(check)


def assert_may_enable(*, config: StrategyConfig) -> BiasCheck:
    """Before any enable: the bias checks of the strategy's current version (run now when missing) must pass
    lookahead and window independence; ValidationError naming the check and the failing bar otherwise."""
    key = config.strategy.key
    try:
        check = run_bias_checks(key=key)
    except KeyError as exc:
        raise ValidationError({"enabled": f"enabled: strategy {key!r} is not loaded ({exc.args[0]})"}) from exc
    if check.status == "error":
        raise ValidationError({"enabled": f"enabled: the bias checks of {key!r} could not run: {check.error}"})
    refusal = bias_refusal(check)
    if refusal:
        raise ValidationError({"enabled": refusal})
    return check


def bias_mark(*, key: str) -> dict:
    """What a backtest records about its strategy's version: {"version", "checked", "biased", "failures"}."""
    try:
        _, sha = current_version(key=key)
    except KeyError:
        return {"version": "", "checked": False, "biased": False, "failures": []}
    check = BiasCheck.objects.filter(strategy__key=key, source_sha256=sha, status="done").first()
    failures = [] if check is None else list(check.blocking_failures)
    return {"version": sha[:10], "checked": check is not None, "biased": bool(failures), "failures": failures}


def rescan() -> dict:
    """The staff rescan (button, API): register the folder now, queue checks of unchecked versions on the
    research queue; returns the report as JSON."""
    report = scan_strategies()
    queue_bias_checks(keys=report.unchecked)
    return {"created": report.created, "updated": report.updated, "unavailable": report.unavailable,
            "errors": report.errors, "checks_queued": report.unchecked}
