"""Download USDT linear perpetuals (instruments-info) and their risk-limit tiers into ``Instrument``.

Every instrument is validated with the model's own rules (``full_clean``) before anything is saved, and all
are saved in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from trading.models import Instrument

from .bybit import CATEGORY, BybitError, call, http_client

MAX_PAGES = 100


@dataclass(frozen=True)
class InstrumentChange:
    symbol: str
    created: bool
    tiers: int


def _paged(method, *, what: str, **params) -> list[dict]:
    rows, cursor = [], None
    for _ in range(MAX_PAGES):
        resp = call(method, what=what, category=CATEGORY, cursor=cursor, **params)
        rows.extend(resp["result"]["list"])
        cursor = resp["result"].get("nextPageCursor") or None
        if not cursor:
            return rows
    raise BybitError(f"{what}: more than {MAX_PAGES} pages")


def tiers_from(rows: list[dict]) -> list[dict]:
    """Bybit risk-limit rows -> the model's ``risk_tiers`` (ordered by risk limit)."""
    tiers = [{"risk_limit_value": r["riskLimitValue"], "mmr": r["maintenanceMargin"], "imr": r["initialMargin"],
              "max_leverage": r["maxLeverage"]} for r in rows]
    return sorted(tiers, key=lambda t: Decimal(t["risk_limit_value"]))


def _instrument(info: dict, tiers: list[dict]) -> tuple[Instrument, bool]:
    lot, price, lev = info["lotSizeFilter"], info["priceFilter"], info["leverageFilter"]
    inst = Instrument.objects.filter(symbol=info["symbol"]).first()
    created = inst is None
    inst = inst or Instrument(symbol=info["symbol"])
    inst.base_coin = info["baseCoin"]
    inst.quote_coin = info["quoteCoin"]
    inst.status = info["status"]
    inst.tick_size = Decimal(price["tickSize"])
    inst.qty_step = Decimal(lot["qtyStep"])
    inst.min_qty = Decimal(lot["minOrderQty"])
    inst.max_qty = Decimal(lot["maxOrderQty"]) if lot.get("maxOrderQty") else None
    inst.min_notional = Decimal(lot.get("minNotionalValue") or "0")
    inst.max_leverage = Decimal(lev["maxLeverage"])
    inst.funding_interval_minutes = int(info.get("fundingInterval") or 480)
    inst.risk_tiers = tiers
    _validate(inst)
    return inst, created


def _validate(inst: Instrument) -> None:
    inst.full_clean()


def download_instruments(*, symbols: list[str] | None = None) -> list[InstrumentChange]:
    """Fetch the given symbols (default: every USDT linear perpetual that is trading) and save them."""
    session = http_client()
    if symbols:
        infos = [row for s in symbols for row in _paged(session.get_instruments_info, what=f"{s} instrument",
                                                        symbol=s.upper())]
        missing = {s.upper() for s in symbols} - {r["symbol"] for r in infos}
        if missing:
            raise BybitError(f"instruments-info: unknown symbol(s) {', '.join(sorted(missing))}")
    else:
        infos = _paged(session.get_instruments_info, what="instruments", status="Trading", limit=1000)
    infos = [r for r in infos if r.get("contractType") == "LinearPerpetual" and r.get("quoteCoin") == "USDT"]
    tier_rows: dict[str, list[dict]] = {}
    if symbols:
        for info in infos:
            tier_rows[info["symbol"]] = _paged(session.get_risk_limit, what=f"{info['symbol']} risk limit",
                                               symbol=info["symbol"])
    else:
        for row in _paged(session.get_risk_limit, what="risk limits"):
            tier_rows.setdefault(row["symbol"], []).append(row)
    built = []
    for info in infos:
        rows = tier_rows.get(info["symbol"])
        if not rows:
            raise BybitError(f"{info['symbol']}: no risk-limit tiers in the answer")
        built.append((*_instrument(info, tiers_from(rows)), len(rows)))
    with transaction.atomic():
        for inst, _, _ in built:
            inst.save()
    return [InstrumentChange(symbol=inst.symbol, created=created, tiers=n) for inst, created, n in built]
