"""The live Bybit adapter: the ``Exchange`` protocol over pybit's V5 HTTP client (USDT perpetuals, one-way
mode, isolated margin: the account is switched before its first opening order, see bybit_account.py), for
accounts switched to live.

Retries (see bybit_transport): pybit itself retries 10002/10006 (``max_retries`` = ``max_attempts``); on top,
idempotent calls (every GET, set_leverage, trading-stop) are retried up to ``max_attempts`` times with
``backoff`` on retryable failures. ``cancel_order`` is sent once. ``place_order`` never resends blindly:
after a failure whose outcome is unknown it first looks the order up by its orderLinkId (the intent's
client order id) and returns that ack if it landed; only then does it resend with the SAME orderLinkId,
and a 110072 "duplicate" answer means the order is there. Credentials are read from the account when the
client is built and never logged or shown by ``repr``. The host is the account's environment's (mainnet, testnet or
demo trading: bybit_hosts.py) unless settings.BYBIT_HTTP_ENDPOINT points elsewhere."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from . import bybit_mapping as m
from .bybit_account import ensure_ready
from .bybit_hosts import hosts_for, rest_endpoint
from .bybit_transport import call, pause, with_retries, worth_retrying
from .factory import live_refusal
from .types import (
    ExchangeError,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    LiveTradingRefused,
    OrderAck,
    OrderIntent,
    Wallet,
    refuse_if_killed,
)

log = logging.getLogger(__name__)

LEVERAGE_NOT_MODIFIED = 110043
DUPLICATE_ORDER_LINK_ID = 110072
SETTLE_COIN = "USDT"
MAX_PAGES = 200
WEEK_MS = 7 * 24 * 3600 * 1000  # execution/list answers at most 7 days per request


class BybitExchange:
    """See the module docstring. ``http`` injects a ready pybit session (then the account's keys are not
    read); ``endpoint`` (else settings.BYBIT_HTTP_ENDPOINT) points pybit at another base URL, e.g. a fake."""

    name = "bybit"

    def __init__(self, account, *, endpoint: str | None = None, http=None, recv_window: int = 5000,
                 max_attempts: int = 4, backoff: tuple[float, ...] = (0.2, 0.5, 1.0), timeout: float = 10.0):
        reason = live_refusal(account)
        if reason is not None:  # the factory checks this too; a direct construction must not bypass it
            raise LiveTradingRefused(reason)
        if max_attempts < 1:
            raise ValueError(f"max_attempts: {max_attempts} must be at least 1")
        self.account = account
        self.max_attempts = int(max_attempts)
        self.backoff = tuple(float(b) for b in backoff)
        self.hosts = hosts_for(account.environment)
        built = http is None
        if built:
            http = self._build_http(account, recv_window=recv_window, timeout=timeout)
        if endpoint is None:  # settings.BYBIT_HTTP_ENDPOINT, else the environment's host (an injected session
            endpoint = rest_endpoint(account.environment) if built else getattr(settings, "BYBIT_HTTP_ENDPOINT", None)
        if endpoint:  # keeps its own URL unless the settings override it)
            http.endpoint = endpoint.rstrip("/")
        self._http = http  # pybit's dataclass repr shows the key and secret: keep it private
        self._instruments: dict = {}

    def _build_http(self, account, *, recv_window: int, timeout: float):
        from pybit.unified_trading import HTTP

        key, secret = account.api_credentials()
        return HTTP(api_key=key, api_secret=secret, testnet=self.hosts.testnet, demo=self.hosts.demo,
                    recv_window=int(recv_window),
                    timeout=timeout, max_retries=self.max_attempts,
                    retry_delay=self.backoff[0] if self.backoff else 0.2,
                    ignore_codes={LEVERAGE_NOT_MODIFIED})

    def __repr__(self) -> str:
        return f"<BybitExchange account={getattr(self.account, 'pk', None)} environment={self.hosts.environment} " \
               f"endpoint={self.endpoint}>"

    @property
    def endpoint(self) -> str:
        return self._http.endpoint

    # ----- plumbing ------------------------------------------------------------------------------
    def _get(self, method: str, **params) -> dict:
        """An idempotent call (GET), retried on retryable failures."""
        fn = getattr(self._http, method)
        return with_retries(method, lambda: call(fn, params), attempts=self.max_attempts, backoff=self.backoff)

    def _pages(self, method: str, list_key: str = "list", **params) -> list[dict]:
        """Every row of a cursor-paged list."""
        rows: list[dict] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            result = self._get(method, **params)
            rows.extend(result.get(list_key) or [])
            cursor = result.get("nextPageCursor") or ""
            if not cursor or cursor in seen:
                return rows
            seen.add(cursor)
            params["cursor"] = cursor
        raise ExchangeError(-1, f"{method}: more than {MAX_PAGES} pages, stopped")

    # ----- protocol ------------------------------------------------------------------------------
    def instrument(self, symbol: str):
        """The engine Instrument from instruments-info + risk-limit, cached for this adapter's life."""
        inst = self._instruments.get(symbol)
        if inst is None:
            info = self._get("get_instruments_info", category=m.CATEGORY, symbol=symbol).get("list") or []
            if not info:
                raise ExchangeError(m.PARAMS_ERROR, f"symbol: {symbol!r} is not listed on Bybit linear")
            risk = self._get("get_risk_limit", category=m.CATEGORY, symbol=symbol).get("list") or []
            inst = self._instruments[symbol] = m.instrument_from(info[0], risk)
        return inst

    def wallet(self) -> Wallet:
        rows = self._get("get_wallet_balance", accountType="UNIFIED", coin=SETTLE_COIN).get("list") or []
        if not rows:
            raise ExchangeError(-1, "wallet-balance: no UNIFIED account in the reply")
        return m.wallet_from(rows[0], SETTLE_COIN)

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Buy = sell leverage (one-way mode); 110043 "leverage not modified" is success."""
        value = m.plain(Decimal(leverage))
        body = {"category": m.CATEGORY, "symbol": symbol, "buyLeverage": value, "sellLeverage": value}
        fn = self._http.set_leverage
        with_retries("set_leverage", lambda: call(fn, body, ok_codes=frozenset({LEVERAGE_NOT_MODIFIED})),
                     attempts=self.max_attempts, backoff=self.backoff)

    def place_order(self, intent: OrderIntent) -> OrderAck:
        refuse_if_killed(self.account, intent)
        body = m.order_body(intent, self.instrument(intent.symbol))
        if not intent.reduce_only:  # isolated margin before any opening order (bybit_account.py)
            ensure_ready(self, symbol=intent.symbol)
        cid = intent.client_order_id
        unknown: ExchangeError | None = None  # the last failure after which the order may have landed
        for attempt in range(1, self.max_attempts + 1):
            if unknown is not None:
                pause(self.backoff, attempt - 1)
                landed = self._lookup_after(unknown, intent.symbol, cid)
                if landed is not None:
                    log.warning("bybit order %s landed despite %s; not resent", cid, unknown.message)
                    return OrderAck(landed.order_id, cid)
            try:
                result = call(self._http.place_order, body)
            except ExchangeError as err:
                if err.code == DUPLICATE_ORDER_LINK_ID:
                    return self._duplicate_ack(intent.symbol, cid)
                if not worth_retrying(err):
                    raise
                unknown = err
                log.warning("bybit place_order %s: %s (code %s), attempt %d/%d", cid, err.message, err.code,
                            attempt, self.max_attempts)
                continue
            return OrderAck(str(result.get("orderId", "")), result.get("orderLinkId") or cid)
        landed = self._lookup_after(unknown, intent.symbol, cid)
        if landed is not None:
            return OrderAck(landed.order_id, cid)
        raise ExchangeError(unknown.code, f"order {cid} not placed after {self.max_attempts} attempts: "
                                          f"{unknown.message}", retryable=True)

    def _lookup_after(self, unknown: ExchangeError, symbol: str, cid: str) -> ExchangeOrder | None:
        """The order with this orderLinkId, if the failed attempt landed; an ExchangeError when even the
        lookup fails, because resending without knowing could place it twice."""
        try:
            return self.find_order(symbol, cid)
        except ExchangeError as err:
            raise ExchangeError(err.code, f"order {cid}: outcome unknown after {unknown.message!r} and the "
                                          f"lookup failed: {err.message}", retryable=True) from err

    def _duplicate_ack(self, symbol: str, cid: str) -> OrderAck:
        existing = self.find_order(symbol, cid)
        return OrderAck(existing.order_id if existing is not None else "", cid, duplicate=True)

    def cancel_order(self, symbol: str, *, order_id: str) -> None:
        """Sent once (a resent cancel of a cancel that landed would answer 110001); pybit may retry 10006."""
        call(self._http.cancel_order, {"category": m.CATEGORY, "symbol": symbol, "orderId": order_id})

    def set_trading_stop(self, symbol: str, *, take_profit: Decimal | None = None,
                         stop_loss: Decimal | None = None) -> None:
        """Full-mode position TP/SL on the last price; None keeps a leg, 0 cancels it."""
        inst = self.instrument(symbol)
        body = {"category": m.CATEGORY, "symbol": symbol, "tpslMode": "Full", "positionIdx": 0}
        tp, sl = m.leg_price(inst, take_profit), m.leg_price(inst, stop_loss)
        if tp is not None:
            body.update(takeProfit=tp, tpTriggerBy="LastPrice")
        if sl is not None:
            body.update(stopLoss=sl, slTriggerBy="LastPrice")
        fn = self._http.set_trading_stop
        with_retries("set_trading_stop", lambda: call(fn, body), attempts=self.max_attempts, backoff=self.backoff)

    def positions(self) -> list[ExchangePosition]:
        rows = self._pages("get_positions", category=m.CATEGORY, settleCoin=SETTLE_COIN, limit=200)
        return [p for p in map(m.position_from, rows) if p is not None]

    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Open (New/PartiallyFilled) orders; the position's own TP/SL legs show on ``positions()`` instead."""
        scope = {"symbol": symbol} if symbol else {"settleCoin": SETTLE_COIN}
        rows = self._pages("get_open_orders", category=m.CATEGORY, openOnly=0, limit=50, **scope)
        return [m.order_from(r) for r in rows if not m.is_position_leg(r)]

    def find_order(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """By orderLinkId: order/realtime first, then order/history for orders that finished earlier."""
        for method in ("get_open_orders", "get_order_history"):
            rows = self._get(method, category=m.CATEGORY, symbol=symbol, orderLinkId=client_order_id).get("list")
            rows = [r for r in rows or [] if r.get("orderLinkId") == client_order_id]
            if rows:
                return m.order_from(rows[0])
        return None

    def executions(self, *, symbol: str | None = None, since: datetime | None = None) -> list[ExchangeFill]:
        """Executions oldest first. Without ``since`` Bybit answers the last 7 days; with it, 7-day windows
        from ``since`` to now (the last one open-ended), each paged by cursor."""
        scope = {"symbol": symbol} if symbol else {}
        rows: list[dict] = []
        if since is None:
            rows = self._pages("get_executions", category=m.CATEGORY, limit=100, **scope)
        else:
            start, now = int(since.timestamp() * 1000), int(time.time() * 1000)
            while start + WEEK_MS <= now:
                rows += self._pages("get_executions", category=m.CATEGORY, limit=100, startTime=start,
                                    endTime=start + WEEK_MS - 1, **scope)
                start += WEEK_MS
            rows += self._pages("get_executions", category=m.CATEGORY, limit=100, startTime=start, **scope)
        unique = {r["execId"]: r for r in rows}
        fills = sorted((m.fill_from(r) for r in unique.values()), key=lambda f: (f.executed_at, f.exec_id))
        return fills

    def last_price(self, symbol: str) -> Decimal | None:
        rows = self._get("get_tickers", category=m.CATEGORY, symbol=symbol).get("list") or []
        return m.price_or_none(rows[0].get("lastPrice")) if rows else None

    def touch_price(self, symbol: str, side: int) -> Decimal | None:
        """The best bid (``side`` +1: where a post-only buy rests) or ask, from the ticker; else the last price."""
        rows = self._get("get_tickers", category=m.CATEGORY, symbol=symbol).get("list") or []
        if not rows:
            return None
        return m.price_or_none(rows[0].get("bid1Price" if side > 0 else "ask1Price")) or \
            m.price_or_none(rows[0].get("lastPrice"))
