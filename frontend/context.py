"""The data each page starts with, read through trading/selectors and shaped exactly like the live
events (trading/services/broadcast.py), so the first render and a live update share one code path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading import selectors
from trading.choices import PositionStatus
from trading.services.broadcast import decision_payload, equity_payload, fill_payload, position_payload

RECENT = 20


def desk_context(*, user) -> dict[str, Any]:
    accounts = list(selectors.accounts_for(user=user).order_by("id"))
    ids = [a.pk for a in accounts]
    positions = list(selectors.positions_for(user=user).filter(status=PositionStatus.OPEN).order_by("-opened_at"))
    last = selectors.latest_decision_by_position(position_ids=[p.pk for p in positions])
    snaps = selectors.latest_equity_by_account(account_ids=ids)
    margin_by_account: dict[int, Decimal] = {}
    for p in positions:
        margin_by_account[p.account_id] = margin_by_account.get(p.account_id, Decimal(0)) + p.margin
    account_rows = []
    for a in accounts:
        snap = snaps.get(a.pk)
        row = {"id": a.pk, "name": a.name, "mode": a.mode, "kill_switch_engaged": a.kill_switch_engaged,
               "starting_capital": float(a.starting_capital), "equity": None}
        if snap is not None:
            row.update(equity_payload(snap))
            row["account"] = a.pk
        else:
            used = float(margin_by_account.get(a.pk, 0))
            row.update({"balance": float(a.starting_capital), "equity": float(a.starting_capital),
                        "margin_used": used, "available": float(a.starting_capital) - used, "taken_at": None})
        account_rows.append(row)
    from frontend.desk_extras import desk_extras
    from trading.marketdata.clock import desk_now

    return {
        **desk_extras(user=user, accounts=account_rows, today=desk_now().date()),
        "accounts": account_rows,
        "positions": [position_payload(p, last_decision=last.get(p.pk)) for p in positions],
        "fills": [fill_payload(f) for f in selectors.fills_for(user=user).order_by("-executed_at", "-id")[:RECENT]],
        "decisions": [decision_payload(d) for d in
                      selectors.decisions_for(user=user).order_by("-decided_at", "-id")[:RECENT]],
    }


def strategies_context(*, user) -> list[dict[str, Any]]:
    from trading.services.research_gate import last_verdict

    configs = list(selectors.configs_for(user=user))
    last = selectors.latest_signal_by_config(config_ids=[c.pk for c in configs])
    rows = []
    for c in configs:
        sig = last.get(c.pk)
        rows.append({
            "id": c.pk, "name": c.name, "strategy": c.strategy.label, "strategy_key": c.strategy.key,
            "account": c.account.name, "account_id": c.account_id, "symbols": c.symbols, "timeframe": c.timeframe,
            "leverage": float(c.leverage), "sizing_mode": c.sizing_mode,
            "allocation": None if c.allocation is None else float(c.allocation),
            "kelly_fraction": None if c.kelly_fraction is None else float(c.kelly_fraction),
            "take_profit_pct": None if c.take_profit_pct is None else float(c.take_profit_pct),
            "stop_loss_pct": float(c.stop_loss_pct), "enabled": c.enabled,
            "kill_switch": c.account.kill_switch_engaged, "live": c.account.mode == "live",
            "last_verdict": last_verdict(config=c),
            "last_signal": None if sig is None else {
                "bar_time": sig.bar_time.isoformat(), "symbol": sig.symbol, "signal": sig.signal,
                "drift": sig.drift, "confidence": sig.confidence, "half_life_seconds": sig.half_life_seconds,
                "forecast": None if sig.forecast is None else float(sig.forecast), "layers": sig.layers,
                "acted": sig.acted, "note": sig.note},
        })
    return rows


def chart_context(*, user, symbol: str, interval: str) -> dict[str, Any]:
    """What the chart page starts with: the symbol, the interval, the instruments' tick and qty step (format.js)
    and the user's configs trading the symbol (the indicators picker). Candles, marks and indicators come from
    /api/chart/ for the range on screen (trading/services/chart_data.py)."""
    from trading.models import Instrument

    return {
        "symbol": symbol, "interval": interval,
        "instruments": {i.symbol: {"tick": format(i.tick_size.normalize(), "f"), "step": format(i.qty_step.normalize(), "f")}
                        for i in Instrument.objects.filter(symbol=symbol)},
        "configs": [{"id": c.pk, "name": c.name, "strategy": c.strategy.key, "label": c.strategy.label}
                    for c in selectors.configs_for(user=user) if symbol in (c.symbols or [])],
    }


def backtests_context(*, user) -> dict[str, Any]:
    """The backtests form's pickers: the user's configs (as they trade, with their account's fees and capital),
    accounts, and the stored range of every symbol and interval (the form's default range)."""
    configs = []
    for c in selectors.configs_for(user=user):
        a = c.account
        configs.append({
            "id": c.pk, "name": c.name, "strategy": c.strategy.key, "account": a.pk, "enabled": c.enabled,
            "symbols": list(c.symbols or []), "timeframe": c.timeframe, "params": c.params or {},
            "leverage": float(c.leverage), "sizing_mode": c.sizing_mode,
            "allocation": None if c.allocation is None else float(c.allocation),
            "kelly_fraction": None if c.kelly_fraction is None else float(c.kelly_fraction),
            "take_profit_pct": None if c.take_profit_pct is None else float(c.take_profit_pct),
            "stop_loss_pct": None if c.stop_loss_pct is None else float(c.stop_loss_pct),
            "initial_capital": float(a.starting_capital), "maker_fee": float(a.maker_fee),
            "taker_fee": float(a.taker_fee)})
    accounts = [{"id": a.pk, "name": a.name, "max_open_positions": a.max_open_positions,
                 "starting_capital": float(a.starting_capital)}
                for a in selectors.accounts_for(user=user).order_by("id")]
    return {"configs": configs, "accounts": accounts, "ranges": selectors.stored_ranges()}
