"""The live gate: which configs may trade on a live account, decided in one place for every path that makes a
config trade live (the API's enable and PATCH, the admin form and list, the account's paper -> live switch;
``trading.validation`` calls ``live_gate_error`` from the models' clean(), which every one of them runs).

The rule. A config may be enabled on a live-mode account only when, for EACH of its symbols, the latest
finished walk-forward study recorded against the config for the config's strategy on that symbol and
timeframe has a verdict that is not red (amber or green); or when an override is recorded (who, when, why)
for exactly the config's current strategy, symbols and timeframe. A red verdict, a study of another strategy,
symbol or timeframe, or no study at all refuses; changing the config's strategy, symbols or timeframe needs a
new verdict or a new override. Paper is free.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from trading.choices import AccountMode
from trading.models import LiveGateOverride, ResearchStudy, StudyKind, StudyStatus


def last_verdict(*, config) -> dict | None:
    """The config's latest finished walk-forward verdict ({verdict, reasons, ..., study, finished_at}) or None."""
    study = (ResearchStudy.objects.filter(config=config, status=StudyStatus.DONE, kind=StudyKind.WALKFORWARD)
             .order_by("-finished_at", "-pk")
             .only("pk", "verdict", "finished_at").first())
    if study is None:
        return None
    return {**study.verdict, "study": study.pk, "finished_at": study.finished_at.isoformat()
            if study.finished_at else None}


def gate_scope(*, config) -> dict:
    """What an override covers: the config's strategy, symbols (sorted) and timeframe."""
    return {"strategy": config.strategy.key if config.strategy_id else "", "symbols": sorted(config.symbols or []),
            "timeframe": config.timeframe}


def symbol_verdicts(*, config) -> dict[str, ResearchStudy | None]:
    """Each symbol of the config -> its latest finished walk-forward study for the config's strategy and
    timeframe recorded against the config (None when there is none)."""
    out: dict[str, ResearchStudy | None] = {s: None for s in config.symbols or []}
    if config.pk is None or not config.strategy_id:
        return out
    studies = (ResearchStudy.objects.filter(config=config, status=StudyStatus.DONE, strategy=config.strategy.key,
                                            kind=StudyKind.WALKFORWARD)
               .order_by("-finished_at", "-pk").only("pk", "settings", "verdict", "finished_at"))
    for study in studies:
        symbol, timeframe = study.settings.get("symbol"), study.settings.get("timeframe")
        if symbol in out and out[symbol] is None and timeframe == config.timeframe:
            out[symbol] = study
    return out


def _verdict_problem(*, config) -> str | None:
    missing, red = [], []
    for symbol, study in symbol_verdicts(config=config).items():
        if study is None:
            missing.append(symbol)
        elif (study.verdict or {}).get("verdict") not in ("green", "amber"):
            reasons = "; ".join((study.verdict or {}).get("reasons") or []) or "no verdict stored"
            red.append(f"{symbol}: study {study.pk} is {(study.verdict or {}).get('verdict') or 'unjudged'} "
                       f"({reasons})")
    if not missing and not red:
        return None
    parts = []
    if missing:
        parts.append(f"no walk-forward verdict on record for {', '.join(missing)} at {config.timeframe} with "
                     f"{gate_scope(config=config)['strategy']!r}")
    if red:
        parts.append("the latest walk-forward verdict refuses: " + ", ".join(red))
    return "; ".join(parts)


def _overridden(*, config) -> bool:
    if config.pk is None:
        return False
    scope = gate_scope(config=config)
    return any(o == scope for o in LiveGateOverride.objects.filter(config=config).values_list("scope", flat=True))


def study_config_error(*, config, strategy: str, settings: dict) -> str | None:
    """Why a study of ``strategy`` on ``settings`` (symbol, timeframe) may not be recorded against ``config``:
    its verdict must be about what the config trades."""
    if config is None:
        return None
    if config.strategy.key != strategy:
        return f"config: config {config.pk} runs {config.strategy.key!r}, not {strategy!r}"
    symbol, timeframe = settings.get("symbol"), settings.get("timeframe", "5m")
    if symbol not in (config.symbols or []):
        return f"config: config {config.pk} trades {', '.join(config.symbols or [])}, not {symbol!r}"
    if timeframe != config.timeframe:
        return f"config: config {config.pk} trades at {config.timeframe}, not {timeframe!r}"
    return None


def gate_refusal(*, config, account=None) -> str | None:
    """The short reason the gate refuses ``config`` on ``account`` (default: its own, as stored), or None."""
    account = account if account is not None else config.account
    if account.mode != AccountMode.LIVE:
        return None
    problem = _verdict_problem(config=config)
    if problem is None or _overridden(config=config):
        return None
    return problem


def live_gate_error(*, config, account=None) -> str | None:
    """Why ``config`` may not be enabled on ``account`` (default: its own, as stored), or None when it may."""
    account = account if account is not None else config.account
    problem = gate_refusal(config=config, account=account)
    if problem is None:
        return None
    return (f"enabled: config {config.name!r} trades on the live account {account.name!r}: {problem}; run a "
            "walk-forward for each symbol (POST /api/research/ with its config, or manage.py research walkforward "
            "--config) or enable with override_research=true, which is recorded")


@transaction.atomic
def check_live_gate(*, config, user=None, override: bool = False, reason: str = "") -> LiveGateOverride | None:
    """Raise ValidationError {"enabled": ...} when the gate refuses; with ``override`` record who overrode it,
    why, and for what (``gate_scope``)."""
    error = live_gate_error(config=config)
    if error is None:
        return None
    if not override:
        raise ValidationError({"enabled": error})
    if user is None or not getattr(user, "pk", None):
        raise ValidationError({"override_research": "override_research: an override needs the user who makes it"})
    if len(reason) > 200:
        raise ValidationError({"reason": f"reason: {len(reason)} characters, above the limit 200"})
    return LiveGateOverride.objects.create(config=config, user=user, reason=reason, scope=gate_scope(config=config))
