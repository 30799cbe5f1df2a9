"""Public REST handlers (/v5/market/*): kline, mark-price kline, tickers, instruments-info, risk-limit,
funding history and server time. Each takes (exchange, params) and returns an Outcome."""

from __future__ import annotations

from .account import Outcome
from .marketdata import INTERVALS
from .params import ParamError, integer, page, text


def _category(params: dict) -> str:
    cat = text(params, "category", default="linear")
    if cat != "linear":
        raise ParamError(f"params error: category {cat!r} is not supported by the fake (linear only)")
    return cat


def _listing(ex, params: dict, required: bool = True):
    symbol = text(params, "symbol", required=required)
    if symbol is None:
        return None
    lst = ex.listing(symbol)
    if lst is None:
        raise ParamError(f"params error: symbol invalid {symbol!r}")
    return lst


def _kline(ex, params: dict, mark: bool) -> Outcome:
    cat = _category(params)
    lst = _listing(ex, params)
    interval = text(params, "interval", required=True)
    if interval not in INTERVALS:
        raise ParamError(f"params error: Invalid period {interval!r}")
    limit = integer(params, "limit", 200, lo=1, hi=1000, clamp=True)
    start, end = integer(params, "start"), integer(params, "end")
    rows = ex.market.kline_rows(lst, interval, start, end, limit, mark=mark)
    return Outcome(result={"category": cat, "symbol": lst.symbol, "list": rows})


def kline(ex, params):
    return _kline(ex, params, mark=False)


def mark_price_kline(ex, params):
    return _kline(ex, params, mark=True)


def tickers(ex, params):
    cat = _category(params)
    lst = _listing(ex, params, required=False)
    chosen = [lst] if lst is not None else list(ex.listings.values())
    rows = [ex.market.quotes[x.symbol].ticker(x) for x in chosen if x.symbol in ex.market.quotes]
    return Outcome(result={"category": cat, "list": rows})


def instruments_info(ex, params):
    cat = _category(params)
    lst = _listing(ex, params, required=False)
    status = text(params, "status")
    limit = integer(params, "limit", 500, lo=1, hi=1000, clamp=True)
    rows = [x.instrument_info() for x in ([lst] if lst is not None else ex.listings.values())]
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    chunk, nxt = page(rows, limit, text(params, "cursor"))
    return Outcome(result={"category": cat, "list": chunk, "nextPageCursor": nxt})


def risk_limit(ex, params):
    cat = _category(params)
    lst = _listing(ex, params, required=False)
    rows = [r for x in ([lst] if lst is not None else ex.listings.values()) for r in x.risk_limits()]
    return Outcome(result={"category": cat, "list": rows})


def funding_history(ex, params):
    cat = _category(params)
    lst = _listing(ex, params)
    start, end = integer(params, "startTime"), integer(params, "endTime")
    if start is not None and end is None:
        raise ParamError("params error: startTime and endTime must be passed together (or endTime alone)")
    limit = integer(params, "limit", 200, lo=1, hi=200, clamp=True)
    return Outcome(result={"category": cat, "list": ex.market.funding_rows(lst.symbol, start, end, limit)})


def server_time(ex, params):
    ms = ex.server_ms()
    return Outcome(result={"timeSecond": str(ms // 1000), "timeNano": str(ms * 1_000_000)})


ROUTES = {
    "/v5/market/kline": kline,
    "/v5/market/mark-price-kline": mark_price_kline,
    "/v5/market/tickers": tickers,
    "/v5/market/instruments-info": instruments_info,
    "/v5/market/risk-limit": risk_limit,
    "/v5/market/funding/history": funding_history,
    "/v5/market/time": server_time,
}
