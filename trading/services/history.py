"""The desk's history, read from the trading record (read-only): closed trades as round trips (entry, exit,
net PnL and PnL % on the opening margin, fees, funding, duration, exit reason), per-config performance (trades,
win rate, PnL) and PnL per UTC day (every fill's realised PnL less its fee and the funding it paid: a Funding record
counts on the day it settled). Scoped to a user's accounts like every selector."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, Sum
from django.db.models.functions import TruncDate

from trading import selectors
from trading.choices import ExecType, PositionStatus

TRADE_COLUMNS = ["id", "account", "config", "config_name", "symbol", "side", "qty", "entry_price", "exit_price",
                 "opened_at", "closed_at", "duration_seconds", "gross_pnl", "fees", "funding", "net_pnl",
                 "pnl_pct", "exit_reason"]


def _avg(fills) -> Decimal | None:
    qty = sum((f.qty for f in fills), Decimal(0))
    return None if not qty else sum((f.price * f.qty for f in fills), Decimal(0)) / qty


def round_trips(*, user, account_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Closed positions, newest first, as round trips."""
    qs = selectors.positions_for(user=user).filter(status=PositionStatus.CLOSED)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    positions = list(qs.select_related("config").prefetch_related("fills").order_by("-closed_at", "-id")[:limit])
    rows = []
    for p in positions:
        trades = [f for f in p.fills.all() if f.exec_type in (ExecType.TRADE, ExecType.BUST)]
        entries = [f for f in trades if not f.exit_reason]
        exits = [f for f in trades if f.exit_reason]
        qty = sum((f.qty for f in entries), Decimal(0)) or p.qty
        entry = _avg(entries) or p.entry_price
        margin = qty * entry / p.leverage if p.leverage else None
        # the fills' stamps (the price's time: a replay's simulated time) over the row's, when there are fills
        opened = min((f.executed_at for f in entries), default=p.opened_at)
        net = p.realised_pnl
        rows.append({
            "id": p.pk, "account": p.account_id, "config": p.config_id,
            "config_name": p.config.name if p.config else "", "symbol": p.symbol, "side": p.side,
            "qty": qty, "entry_price": entry, "exit_price": _avg(exits),
            "opened_at": opened, "closed_at": p.closed_at,
            "duration_seconds": None if p.closed_at is None else (p.closed_at - opened).total_seconds(),
            "gross_pnl": sum((f.realised_pnl for f in exits), Decimal(0)), "fees": p.fees_paid,
            "funding": p.funding_paid, "net_pnl": net,
            "pnl_pct": None if not margin else float(net / margin * 100), "exit_reason": p.exit_reason})
    return rows


def performance_by_config(*, trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per config: trades, wins, win rate (%), net PnL, from round trips."""
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for t in trades:
        groups[(t["config"], t["config_name"])].append(t)
    out = []
    for (config, name), rows in sorted(groups.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0)):
        wins = sum(1 for r in rows if r["net_pnl"] > 0)
        out.append({"config": config, "config_name": name or "(by hand / adopted)", "trades": len(rows),
                    "wins": wins, "win_rate_pct": 100.0 * wins / len(rows),
                    "net_pnl": sum((r["net_pnl"] for r in rows), Decimal(0))})
    return out


def daily_pnl(*, user, account_id: int | None = None, days: int = 30) -> list[dict[str, Any]]:
    """PnL per UTC day after fees and funding (newest first, at most ``days`` days that had fills or funding):
    ``net_pnl`` = realised PnL - fees - funding paid, with ``funding`` (paid +, received -) shown on its own."""
    qs = selectors.fills_for(user=user)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    rows = (qs.annotate(day=TruncDate("executed_at")).values("day")
            .annotate(net=Sum(F("realised_pnl") - F("fee") - F("funding")), funding=Sum("funding"))
            .order_by("-day")[:days])
    return [{"day": r["day"].isoformat(), "net_pnl": r["net"], "funding": r["funding"]} for r in rows]


def history(*, user, account_id: int | None = None, today: date) -> dict[str, Any]:
    trades = round_trips(user=user, account_id=account_id)
    days = daily_pnl(user=user, account_id=account_id)
    return {"trades": trades, "by_config": performance_by_config(trades=trades), "daily": days,
            "today": next((d["net_pnl"] for d in days if d["day"] == today.isoformat()), Decimal(0))}
