"""The live gate: a config is enabled on a live account only with a walk-forward verdict on record (a finished
ResearchStudy for that config) or an explicit override, which is recorded (who, when, why). Paper is free."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from trading.choices import AccountMode
from trading.models import LiveGateOverride, ResearchStudy, StudyStatus


def last_verdict(*, config) -> dict | None:
    """The config's latest finished walk-forward verdict ({verdict, reasons, ..., study, finished_at}) or None."""
    study = (ResearchStudy.objects.filter(config=config, status=StudyStatus.DONE).order_by("-finished_at", "-pk")
             .only("pk", "verdict", "finished_at").first())
    if study is None:
        return None
    return {**study.verdict, "study": study.pk, "finished_at": study.finished_at.isoformat()
            if study.finished_at else None}


def live_gate_error(*, config) -> str | None:
    """Why enabling ``config`` is refused, or None when it may be enabled."""
    account = config.account
    if account.mode != AccountMode.LIVE:
        return None
    if config.pk is not None:
        if ResearchStudy.objects.filter(config=config, status=StudyStatus.DONE).exists():
            return None
        if LiveGateOverride.objects.filter(config=config).exists():
            return None
    return (f"enabled: config {config.name!r} trades on the live account {account.name!r} and has no walk-forward "
            "verdict on record; run one (POST /api/research/ with its config, or manage.py research walkforward "
            "--config) or enable with override_research=true, which is recorded")


def check_live_gate(*, config, user=None, override: bool = False, reason: str = "") -> LiveGateOverride | None:
    """Raise ValidationError {"enabled": ...} when the gate refuses; with ``override`` record who overrode it."""
    error = live_gate_error(config=config)
    if error is None:
        return None
    if not override:
        raise ValidationError({"enabled": error})
    if user is None or not getattr(user, "pk", None):
        raise ValidationError({"override_research": "override_research: an override needs the user who makes it"})
    if len(reason) > 200:
        raise ValidationError({"reason": f"reason: {len(reason)} characters, above the limit 200"})
    return LiveGateOverride.objects.create(config=config, user=user, reason=reason)
