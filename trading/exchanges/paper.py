"""The paper exchange: the engine's Simulator, persisted per account in ``PaperAccountState`` and marked to
the feed's latest prices (bars closed since the last call, then the latest tick) before every request.

Prices have an age: with the feed's prices (the default ``quote``), a market order is refused when there is no
price or the price is older than ``QUANTDESK_MAX_PRICE_AGE_SECONDS`` by the desk clock
(``trading.marketdata.clock.desk_now_ms``: the replay's simulated time during a replay), and the refusal says
the age; ``last_price`` refuses the same way. A fill is stamped with its price's time.

Honest fills (the engine's execution model, trading/engine/execution_model.py): market orders and triggered
TP/SL move against the taker by the account's ``slippage_bps`` (+ ``slippage_range_fraction`` of the last closed
bar's range); a ``PostOnly`` limit rests until trades go strictly through it (maker fee) and is cancelled at once
when it would cross. Funding is charged at each funding time from the feed's mark and the rate it stores
(``qd:price:{SYMBOL}``: ``funding_rate`` for ``funding_ms``, the previous pair as ``settled_rate``/``settled_ms``),
exactly once per funding time (the Simulator keys it by time): a session charges what fell due strictly before
its price's time (the monitor tick's first request), requests inside ``funding_at_close`` (the signal cycle, before its
decisions) and a replayed sub-bar starting at the funding time charge it inclusively, so the position paying is the one held AT the
funding time, as in the backtest (funding after the monitor, before the signals).

The stored state is bounded: it keeps what trading needs (balances, open positions, open orders) and only the
last ``HISTORY_MS`` (at most ``HISTORY_MAX``, paper_state.py) of filled or cancelled orders and fills, enough for the next sync
to record them in the Fill/Order tables, where the history lives. So a request costs the same on the first day
and after 10,000 fills.

Every request runs in one transaction holding the account's state row (SELECT ... FOR UPDATE), so two
workers never interleave on one paper account and a crash mid-request leaves the last saved state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading.choices import TIMEFRAMES
from trading.engine.orders import DUPLICATE_ORDER_LINK_ID, LEVERAGE_NOT_MODIFIED, OrderRequest
from trading.engine.simulator import Simulator
from trading.engine_adapters import engine_fees, engine_instrument
from trading.models import Account, Candle, Instrument, PaperAccountState

from .paper_state import dec, forget_history, ms_to_dt, to_fill, to_order
from .types import (
    ExchangeError,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    OrderAck,
    OrderIntent,
    Wallet,
    refuse_if_killed,
)

BAR_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h")
MAX_BARS_PER_MARK = 5000
MIN_BAR_MS = 60_000  # the finest of BAR_INTERVALS


def now_ms() -> int:
    """The desk clock (the replay's simulated time while a replay runs)."""
    from trading.marketdata.clock import desk_now_ms

    return desk_now_ms()


def feed_quote(symbol: str) -> dict | None:
    """The live feed's latest prices {last, mark, bid, ask, ts(ms)} as floats/int, or None."""
    from trading.marketdata.feed import latest_price

    raw = latest_price(symbol=symbol)
    if not raw or not raw.get("last"):
        return None
    out = {k: float(raw[k]) for k in ("last", "mark", "bid", "ask", "funding_rate", "settled_rate") if raw.get(k)}
    out.update({k: int(float(raw[k])) for k in ("funding_ms", "settled_ms") if raw.get(k)})
    out["ts"] = int(float(raw.get("ts") or now_ms()))
    out["stepped"] = raw.get("replay") == "1"  # the replay steps paper through this price itself
    return out


STALE_PRICE = -1002  # the desk's own code: no price, or one too old to fill or decide on


def max_price_age_ms() -> int:
    from django.conf import settings

    return int(float(getattr(settings, "QUANTDESK_MAX_PRICE_AGE_SECONDS", 5)) * 1000)


class PaperExchange:
    """See the module docstring. ``quote`` is injectable for tests that drive prices themselves; ages are
    checked against ``now_ms`` (default: the desk clock with the feed's prices, no check with an injected
    quote unless a clock is given too)."""

    name = "paper"

    def __init__(self, account: Account, *, quote: Callable[[str], dict | None] = feed_quote,
                 now_ms: Callable[[], int] | None = None):
        self.account = account
        self.quote = quote
        if now_ms is None and quote is feed_quote:
            from trading.marketdata.clock import desk_now_ms

            now_ms = desk_now_ms
        self.now_ms = now_ms
        self._instruments: dict | None = None  # engine instruments, read once per adapter
        self._funding_inclusive = False  # inside ``funding_at_close``: funding due AT the price's time is paid too
        self._bar_interval: dict[str, str] = {}  # per symbol: the finest interval the store holds
        self._held: dict | None = None  # the state read once inside ``held``

    @property
    def instruments(self) -> dict:
        if self._instruments is None:
            self._instruments = {i.symbol: engine_instrument(i) for i in Instrument.objects.all()}
        return self._instruments

    # ----- state ---------------------------------------------------------------------------------
    def _new_simulator(self) -> Simulator:
        return Simulator(dict(self.instruments), float(self.account.starting_capital), engine_fees(self.account),
                         max_open_positions=self.account.max_open_positions)

    def _load(self, row: PaperAccountState) -> Simulator:
        """The stored simulator with the account's current instruments and slippage model."""
        sim = Simulator.from_state(row.state) if row.state else self._new_simulator()
        self._refresh_instruments(sim)
        sim.slippage_bps = float(self.account.slippage_bps)
        sim.slippage_range_fraction = float(self.account.slippage_range_fraction)
        return sim

    @contextmanager
    def session(self, *, mark: bool = True) -> Iterator[Simulator]:
        """The simulator of this account, locked, marked to market, saved when the block ends. Inside ``held``
        the state is read once: a later session reuses the simulator the previous one left and writes only when
        the state changed, guarded by the version it saved (see ``held``)."""
        held = self._held
        reuse = held is not None and held.get("sim") is not None
        # reusing a held state needs no transaction of its own: its one write is a single conditional UPDATE
        with nullcontext() if reuse else transaction.atomic():
            row = None
            if reuse:
                sim, marked, version = held["sim"], held["marked"], held["version"]
            else:
                row, _ = PaperAccountState.objects.select_for_update().get_or_create(account=self.account)
                sim = self._load(row)
                marked, version = row.marked, row.version
            if mark:
                self._mark(sim, marked)
            try:
                yield sim
            except BaseException:
                if held is not None:
                    held.clear()  # the block failed: its changes roll back, so the next session reads again
                raise
            forget_history(sim)
            state = sim.to_state()
            if row is not None:
                row.state = state
                row.version += 1
                row.save(update_fields=["state", "version", "marked", "updated_at"])
                version = row.version
            elif state != held["state"] or marked != held["saved_marked"]:
                written = PaperAccountState.objects.filter(account=self.account, version=version).update(
                    state=state, marked=marked, version=version + 1, updated_at=timezone.now())
                if written != 1:
                    held.clear()
                    raise RuntimeError(f"paper state of account {self.account.pk} changed by another writer while "
                                       f"held (version {version}); nothing of this request was saved")
                version += 1
            if held is not None:
                held.update(sim=sim, marked=marked, version=version, state=state, saved_marked=copy.deepcopy(marked))

    @contextmanager
    def held(self) -> Iterator[None]:
        """Read the stored state once for the whole block (a signal cycle, under the account's lock, which every
        writer of a paper account takes): requests after the first reuse the simulator in memory and save only
        a changed state, each save conditional on the version the last one wrote, so a write by anyone else in
        between raises instead of being overwritten."""
        outer = self._held
        if outer is None:
            self._held = {}
        try:
            yield
        finally:
            if outer is None:
                self._held = None

    def _refresh_instruments(self, sim: Simulator) -> None:
        for symbol, inst in self.instruments.items():
            sim.instruments[symbol] = inst
            sim.leverage.setdefault(symbol, min(10.0, inst.max_leverage))

    def _mark(self, sim: Simulator, marked: dict) -> None:
        """Apply bars closed since the last mark (TP/SL/liquidation inside them), then the latest tick.

        A replayed tick (``stepped``) is only taken as the price: the replay steps every sub-bar itself
        (``step``), and the bars table, which a replay holds in full, is never read ahead of the tick."""
        busy = set(sim.positions) | {o.symbol for o in sim.open_orders()}
        for symbol in sorted(sim.instruments):
            seen = marked.setdefault(symbol, {"bar": 0, "tick": 0})
            q = self.quote(symbol)
            if symbol in busy and not (q is not None and q.get("stepped")):
                until = q["ts"] if q is not None else now_ms()
                for ts, o, h, low, c in self._bars_since(symbol, seen["bar"], until):
                    sim.on_bar(symbol, ts, o, h, low, c)
                    seen["bar"] = ts
            if q is not None and symbol in sim.positions:
                self._fund(sim, symbol, q, q["ts"], inclusive=self._funding_inclusive)
            if q is not None and sim.slippage_range_fraction > 0 and symbol in busy:
                self._set_range(sim, symbol, q["ts"])
            if q is not None and q["ts"] >= seen["tick"]:
                if q.get("stepped"):  # a replayed price: its sub-bar was stepped by ``step``; just take it
                    sim.last[symbol] = q["last"]
                    sim.mark[symbol] = q.get("mark", q["last"])
                else:
                    sim.on_price(symbol, q["ts"], q["last"], q.get("mark"), q.get("bid"), q.get("ask"))
                seen["tick"] = q["ts"]
                seen["bar"] = max(seen["bar"], q["ts"] - 1)

    @staticmethod
    def _fund(sim: Simulator, symbol: str, q: dict, now: int, *, inclusive: bool) -> None:
        """Charge the funding times the feed names (the settled one, the next one) that fell due by ``now``
        (at ``now`` too when ``inclusive``) and were not charged yet, to the position held then (opened before
        the funding time), at the feed's mark (else last)."""
        pos = sim.positions.get(symbol)
        if pos is None:
            return
        mark = q.get("mark", q.get("last"))
        for t_key, r_key in (("settled_ms", "settled_rate"), ("funding_ms", "funding_rate")):
            t, rate = q.get(t_key), q.get(r_key)
            if t is None or rate is None or mark is None or (t > now if inclusive else t >= now):
                continue
            if pos.opened_ts < t:
                sim.apply_funding_due(symbol, t, rate, mark)

    @contextmanager
    def funding_at_close(self) -> Iterator[None]:
        """Within the block every request also pays the funding due AT the current price's time (the signal cycle
        at a close: funding before its decisions, as the backtest orders them; see the module doc)."""
        self._funding_inclusive = True
        try:
            yield
        finally:
            self._funding_inclusive = False

    def _set_range(self, sim: Simulator, symbol: str, until_ms: int) -> None:
        """The high - low of the last bar (finest stored interval) closed by ``until_ms``: the range part of the
        slippage model."""
        interval = self._bar_interval.get(symbol) or next(
            (i for i in BAR_INTERVALS if Candle.objects.filter(symbol=symbol, interval=i, kind="trade").exists()), None)
        if interval is None:
            return
        self._bar_interval[symbol] = interval
        span = TIMEFRAMES[interval][0] * 1000
        row = (Candle.objects.filter(symbol=symbol, interval=interval, kind="trade",
                                     open_time__lte=ms_to_dt(until_ms - span))
               .order_by("-open_time").values_list("high", "low").first())
        if row is not None:
            sim.set_bar_range(symbol, float(row[0]), float(row[1]))

    def _bars_since(self, symbol: str, after_ms: int, until_ms: int) -> list[tuple[int, float, float, float, float]]:
        """Stored bars opened after ``after_ms`` and closed by ``until_ms`` (never a bar from the future)."""
        if not after_ms:
            return []  # a fresh account starts from the current tick, not from history
        if until_ms - after_ms < MIN_BAR_MS:
            return []  # no stored bar (1 minute or longer) opened after ``after_ms`` can have closed by now
        after = ms_to_dt(after_ms)
        interval = self._bar_interval.get(symbol)
        for candidate in [interval] if interval else BAR_INTERVALS:
            rows = list(Candle.objects.filter(symbol=symbol, interval=candidate, kind="trade", open_time__gt=after)
                        .order_by("open_time").values_list("open_time", "open", "high", "low", "close")
                        [:MAX_BARS_PER_MARK])
            if rows:
                self._bar_interval[symbol] = candidate
                span = TIMEFRAMES[candidate][0] * 1000
                out = [(int(t.timestamp() * 1000), float(o), float(h), float(lo), float(c))
                       for t, o, h, lo, c in rows]
                return [bar for bar in out if bar[0] + span <= until_ms]
        return []

    def step(self, symbol: str, *, start: int, end: int, open: float, high: float, low: float, close: float) -> None:
        """The replay's sub-bar (``trading.engine.detail_path``) from ``start`` to ``end`` (ms): TP/SL/liquidation
        inside it by the engine's ``step_bar`` (the same call the portfolio backtest makes; a fill is stamped with
        the sub-bar's start, as the backtest stamps it), then its close is the price. The bars table is not
        re-read for this span (``marked`` moves past it)."""
        with transaction.atomic():
            row, _ = PaperAccountState.objects.select_for_update().get_or_create(account=self.account)
            sim = self._load(row)
            q = self.quote(symbol)
            if q is not None:  # funding due at the sub-bar's start is paid before anything inside it happens
                self._fund(sim, symbol, q, start, inclusive=True)
                if sim.slippage_range_fraction > 0:
                    self._set_range(sim, symbol, start)
            sim.on_bar(symbol, start, open, high, low, close)
            seen = row.marked.setdefault(symbol, {"bar": 0, "tick": 0})
            seen["tick"] = max(seen["tick"], end)
            seen["bar"] = max(seen["bar"], end - 1)
            forget_history(sim)
            row.state = sim.to_state()
            row.version += 1
            row.save(update_fields=["state", "version", "marked", "updated_at"])

    def tick(self, symbol: str, *, last: float, ts: int, mark: float | None = None, bid: float | None = None,
             ask: float | None = None) -> None:
        """Apply one price directly (tests and the replay driver)."""
        with self.session(mark=False) as sim:
            sim.on_price(symbol, ts, last, mark, bid, ask)

    # ----- protocol --------------------------------------------------------------------------------
    def instrument(self, symbol: str):
        return self.instruments[symbol]

    def wallet(self) -> Wallet:
        with self.session() as sim:
            w = sim.wallet()
        return Wallet(balance=dec(w["balance"]), equity=dec(w["equity"]), unrealised_pnl=dec(w["unrealised_pnl"]),
                      used_margin=dec(w["used_margin"] + w["order_margin"]), available=dec(w["available"]))

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        with self.session() as sim:
            result = sim.set_leverage(symbol, float(leverage))
        if not result.accepted and result.code != LEVERAGE_NOT_MODIFIED:
            raise ExchangeError(result.code, result.message)

    def fresh_quote(self, symbol: str) -> dict | None:
        """The current quote; with age checks on, ExchangeError(STALE_PRICE) naming the age when there is
        none or it is older than the limit."""
        q = self.quote(symbol)
        if self.now_ms is None:
            return q
        if q is None:
            raise ExchangeError(STALE_PRICE, f"no price for {symbol}: the feed has none; nothing filled",
                                retryable=True)
        age, limit = self.now_ms() - q["ts"], max_price_age_ms()
        if age > limit:
            raise ExchangeError(STALE_PRICE, f"price of {symbol} is {age / 1000:.1f} s old (limit "
                                             f"{limit / 1000:g} s, QUANTDESK_MAX_PRICE_AGE_SECONDS); refused",
                                retryable=True)  # a fresh price may come: the same order id is sent then
        return q

    def touch_price(self, symbol: str, side: int) -> Decimal | None:
        """Where a post-only entry rests: the bid for a long (``side`` +1), the ask for a short; the last price
        without a book. Aged like ``last_price``."""
        if self.now_ms is not None and self.quote(symbol) is None:
            return None
        q = self.fresh_quote(symbol)
        if q is None:
            return None
        return dec(q.get("bid" if side > 0 else "ask", q["last"]))

    def place_order(self, intent: OrderIntent) -> OrderAck:
        refuse_if_killed(self.account, intent)
        if intent.order_type == "Market" or intent.time_in_force == "PostOnly":
            self.fresh_quote(intent.symbol)
        with self.session() as sim:
            result = sim.place_order(OrderRequest(
                symbol=intent.symbol, side=intent.side, order_type=intent.order_type, qty=intent.qty,
                price=intent.price, reduce_only=intent.reduce_only, take_profit=intent.take_profit,
                stop_loss=intent.stop_loss, client_order_id=intent.client_order_id,
                exit_reason=intent.exit_reason, time_in_force=intent.time_in_force), ts=now_ms())
            if result.code == DUPLICATE_ORDER_LINK_ID:
                existing = next(o for o in sim.orders.values() if o.client_order_id == intent.client_order_id)
                return OrderAck(existing.order_id, intent.client_order_id, duplicate=True)
            if not result.accepted:
                raise ExchangeError(result.code, result.message)
            if intent.order_type == "Market":  # fill at once at the current quote, as the exchange does
                q = self.quote(intent.symbol)
                last = sim.last[intent.symbol]
                ts = q["ts"] if q else now_ms()
                sim.on_price(intent.symbol, ts, q["last"] if q else last, (q or {}).get("mark"),
                             (q or {}).get("bid"), (q or {}).get("ask"))
        return OrderAck(result.order_id, intent.client_order_id)

    def cancel_order(self, symbol: str, *, order_id: str) -> None:
        with self.session() as sim:
            result = sim.cancel_order(order_id)
        if not result.accepted:
            raise ExchangeError(result.code, result.message)

    def set_trading_stop(self, symbol: str, *, take_profit: Decimal | None = None,
                         stop_loss: Decimal | None = None) -> None:
        with self.session() as sim:
            result = sim.set_trading_stop(symbol, None if take_profit is None else float(take_profit),
                                          None if stop_loss is None else float(stop_loss))
        if not result.accepted:
            raise ExchangeError(result.code, result.message)

    def positions(self) -> list[ExchangePosition]:
        with self.session() as sim:
            return [ExchangePosition(
                symbol=p.symbol, side="long" if p.side > 0 else "short", qty=dec(p.qty, "0.0000000001"),
                entry_price=dec(p.entry_price), leverage=dec(p.leverage, "0.01"), margin=dec(p.margin),
                liquidation_price=dec(p.liq_price), bankruptcy_price=dec(p.bankruptcy_price),
                take_profit=dec(p.take_profit), stop_loss=dec(p.stop_loss),
                mark_price=dec(sim.mark.get(p.symbol)),
                unrealised_pnl=dec(p.unrealised_pnl(sim.mark.get(p.symbol, p.entry_price))),
            ) for p in sim.positions.values()]

    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        with self.session() as sim:
            return [to_order(o) for o in sim.open_orders(symbol)]

    def find_order(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        with self.session(mark=False) as sim:
            found = next((o for o in sim.orders.values() if o.client_order_id == client_order_id), None)
            if found is None:
                return None
            fills = [f for f in sim.fills if f.order_id == found.order_id and f.kind == "trade"]
            return to_order(found, fills)

    def executions(self, *, symbol: str | None = None, since: datetime | None = None) -> list[ExchangeFill]:
        since_ms = 0 if since is None else int(since.timestamp() * 1000)
        with self.session() as sim:
            client_ids = {o.order_id: o.client_order_id or "" for o in sim.orders.values()}
            rate = {"maker": sim.fees.maker, "taker": sim.fees.taker}
            return [to_fill(self.account.pk, f, client_ids.get(f.order_id, ""), rate.get(f.liquidity, 0.0))
                    for f in sim.fills if f.ts >= since_ms and symbol in (None, f.symbol)]

    def last_price(self, symbol: str) -> Decimal | None:
        """None when there is no price; ExchangeError(STALE_PRICE) when it is too old (age checks on)."""
        if self.now_ms is not None and self.quote(symbol) is None:
            return None
        q = self.fresh_quote(symbol)
        return None if q is None else dec(q["last"])
