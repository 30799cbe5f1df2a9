"""THE parity test: what the desk does when history is replayed through it equals the portfolio backtest of the
same configs over the same bars, fill for fill.

Desk side: three days of real Bybit 5-minute candles (BTCUSDT, ETHUSDT, from ``../shared/data``) replayed through
the running desk — a real Celery worker and beat (not eager), the paper exchange, two enabled configs at 15m
(resampled from the stored 5m; the 5m bars are the detail series), max 2 open positions. The replay walks each
5m bar's ten 30-second sub-bars (paper steps them, the monitor runs while anything is open) and at each 15m close
runs the account's cycles and waits for them.

Backtest side: each strategy computed once on the full history (the same warm-up taken from before the range),
then ``run_portfolio`` over the same 5m detail bars with the same configs.

Honest paper on both sides: the real 8-hourly funding rates (stored; the replay announces each in its tickers as
Bybit does, paper charges it at the funding time from the feed's price, the backtest from the detail open at that
time) and the default slippage (1 bp against the taker on every market fill and triggered TP/SL).

Equal means: the same fills (time, symbol, entry/exit, side, quantity, exit reason), prices within one tick, fees
to the price's tick, every funding payment (time, symbol) within a cent and the totals too, final equity within
0.01 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from strategies.algos import registry
from strategies.algos.base import StrategyContext
from tests.desk_fixtures import celery_worker
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.shared_data import load_candles, load_funding
from trading.engine.backtest_config import BacktestConfig
from trading.engine_adapters import engine_fees, engine_instrument
from trading.marketdata.feed import FeedHandler
from trading.marketdata.replay import ReplayFeed
from trading.marketdata.resample import resample_frame
from trading.models import Candle, Fill, FundingRate, Instrument, MonitorDecision, Order, Position, Signal
from trading.services.replay_desk import ReplayDesk

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

START = datetime(2025, 6, 2, tzinfo=UTC)
DAYS = 3
END = START + timedelta(days=DAYS)  # the last 15m close acted on; one more 5m bar is played after it
SIGNAL_TF, SIGNAL_S = "15m", 900
SYMBOLS = ("BTCUSDT", "ETHUSDT")
ETH_TIERS = [{"risk_limit_value": "1000000", "mmr": "0.005", "imr": "0.01", "max_leverage": "100"}]
CONFIGS = [  # (symbol, strategy, config fields): stop-losses inside the liquidation distance at their leverage
    ("BTCUSDT", "chandelier", dict(leverage=Decimal("100"), sizing_mode="fixed", allocation=Decimal("0.03"),
                                   kelly_fraction=None, stop_loss_pct=Decimal("0.4"), params={"length": 22})),
    ("ETHUSDT", "drift", dict(leverage=Decimal("50"), sizing_mode="kelly", allocation=None,
                              kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("1.0"),
                              params={"drift_threshold": 0.001, "min_confidence": 0.5})),
]


def strategy_of(config):
    return registry.get(config.strategy.key)(**config.params)


def import_range(configs) -> dict[str, pd.DataFrame]:
    """The 5m bars of both symbols from the warm-up before START to one bar past END, stored and returned."""
    warm = max(strategy_of(c).warmup_bars_at(SIGNAL_TF) for c in configs) + 2
    first = START - timedelta(seconds=warm * SIGNAL_S)
    frames = {}
    for symbol in SYMBOLS:
        full = load_candles(symbol)
        frame = full[(full.index >= first) & (full.index <= END)]
        assert len(frame) == (END - first) // timedelta(minutes=5) + 1, f"{symbol}: gap in the shared data"
        Candle.objects.bulk_create([
            Candle(symbol=symbol, interval="5m", kind="trade", open_time=t.to_pydatetime(),
                   open=Decimal(repr(r.open)), high=Decimal(repr(r.high)), low=Decimal(repr(r.low)),
                   close=Decimal(repr(r.close)), volume=Decimal(repr(r.volume)))
            for t, r in zip(frame.index, frame.itertuples(), strict=True)], batch_size=2000)
        frames[symbol] = frame
        rates = load_funding(symbol)
        rates = rates[(rates.index >= first) & (rates.index <= END + timedelta(hours=8))]
        FundingRate.objects.bulk_create([FundingRate(symbol=symbol, funding_time=t.to_pydatetime(),
                                                     rate=Decimal(repr(float(r)))) for t, r in rates.items()])
    return frames


def funding_series(symbol: str) -> pd.Series:
    """The stored rates as the backtest reads them (the same numbers the replay announces)."""
    from trading.marketdata.reader import read_funding

    return read_funding(symbol=symbol)


def setup_desk():
    user = make_user()
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"),
                    risk_tiers=ETH_TIERS)
    account = make_account(user, starting_capital=Decimal("500"), max_open_positions=2)
    configs = [make_config(account, make_strategy(key), name=f"{key} {symbol}", symbols=[symbol], timeframe=SIGNAL_TF,
                           enabled=True, **kw)
               for symbol, key, kw in CONFIGS]
    return account, configs


# ----- the backtest side ---------------------------------------------------------------------------------
def backtest(account, configs, frames):
    from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio

    bars15 = {s: resample_frame(f, source="5m", target=SIGNAL_TF) for s, f in frames.items()}
    slots = []
    for config in configs:
        symbol = config.symbols[0]
        strategy = strategy_of(config)
        needs = strategy.context_needs(symbol=symbol)
        context = StrategyContext(symbol, SIGNAL_TF, other={s: bars15[s] for s in needs.other_symbols},
                                  higher={h: resample_frame(frames[symbol], source="5m", target=h)
                                          for h in needs.higher_timeframes})
        signals = strategy.compute(bars15[symbol], context)
        signals = signals[(signals.index >= START) & (signals.index + pd.Timedelta(seconds=SIGNAL_S) <= END)]
        inst = Instrument.objects.get(symbol=symbol)
        slots.append(PortfolioSlot(
            key=str(config.pk), symbol=symbol, instrument=engine_instrument(inst), signals=signals,
            timeframe_seconds=SIGNAL_S,
            config=BacktestConfig(
                leverage=float(config.leverage), sizing=config.sizing_mode,
                kelly_fraction=float(config.kelly_fraction or 0.5), allocation=float(config.allocation or 0.05),
                initial_capital=float(account.starting_capital), stop_loss_pct=float(config.stop_loss_pct) / 100,
                take_profit_pct=None if config.take_profit_pct is None else float(config.take_profit_pct) / 100,
                fees=engine_fees(account), funding=True, max_open_positions=account.max_open_positions,
                slippage_bps=float(account.slippage_bps),
                slippage_range_fraction=float(account.slippage_range_fraction))))
    detail = {s: f[f.index >= START][["open", "high", "low", "close"]] for s, f in frames.items()}
    result = run_portfolio(slots=slots, detail=detail, funding={s: funding_series(s) for s in SYMBOLS},
                           spec=PortfolioSpec(initial_capital=float(account.starting_capital),
                                              max_open_positions=account.max_open_positions, funding=True))
    fills = result.fills[result.fills["kind"] != "funding"]
    rows = [(pd.Timestamp(r.time).to_pydatetime(), r.symbol, str(r.kind), str(r.side), float(r.qty), float(r.price),
             "entry" if r.kind == "entry" else str(r.reason), float(r.fee)) for r in fills.itertuples()]
    f = result.fills
    paid = f[f["kind"] == "funding"]
    entry_of = {int(r.trade): (pd.Timestamp(r.time).to_pydatetime(), r.symbol) for r in f[f["kind"] == "entry"].itertuples()}
    funding = {"times": {(pd.Timestamp(r.time).to_pydatetime(), r.symbol) for r in paid.itertuples()}, "per_position": {}}
    for r in paid.itertuples():  # what each position paid, keyed by its entry fill (time, symbol)
        key = entry_of[int(r.trade)]
        funding["per_position"][key] = funding["per_position"].get(key, 0.0) - float(r.pnl)
    return rows, funding, float(result.equity.iloc[-1])


# ----- the desk side -------------------------------------------------------------------------------------
def replay_desk():
    from celery.beat import EmbeddedService

    from quantdesk.celery import app
    from trading.services.bootstrap import ensure_schedules

    ensure_schedules()
    with celery_worker():
        beat = EmbeddedService(app, thread=True, scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler")
        beat.start()
        try:
            desk = ReplayDesk(timeout=300, lock_wait=120)
            handler = FeedHandler(mode="replay", persist=False, derived_intervals=[SIGNAL_TF], tick_every=60)
            progress = []
            played = ReplayFeed(handler=handler, symbols=list(SYMBOLS), interval="5m", since=START, until=END,
                                speed=0, desk=desk, progress=progress.append).run()
        finally:
            beat.stop()
            beat.join(30)
    assert desk.errors == [], desk.errors[:3]
    return played, progress


def desk_fills(account):
    rows = []
    for f in Fill.objects.filter(account=account, exec_type__in=["Trade", "BustTrade"]).order_by("executed_at", "pk"):
        entry = f.exit_reason == ""
        long_side = (f.side == "Buy") == entry  # an entry's side is the position's, an exit's the opposite
        rows.append((f.executed_at, f.symbol, "entry" if entry else "exit", "long" if long_side else "short",
                     float(f.qty), float(f.price), "entry" if entry else f.exit_reason, float(f.fee)))
    return rows


def desk_funding(account) -> dict:
    """Funding times charged (a Fill row each) and what each position paid (Position.funding_paid; a Fill row keeps
    no funding amount), keyed by the position's entry fill (time, symbol)."""
    times = {(f.executed_at, f.symbol) for f in Fill.objects.filter(account=account, exec_type="Funding")}
    per_position = {}
    for f in Fill.objects.filter(account=account, exec_type="Trade", exit_reason="").select_related("position"):
        if f.position is not None and (f.position.funding_paid or f.position.fills.filter(exec_type="Funding").exists()):
            per_position[(f.executed_at, f.symbol)] = float(f.position.funding_paid)
    return {"times": times, "per_position": per_position}


def test_replay_equals_portfolio_backtest():
    account, configs = setup_desk()
    frames = import_range(configs)
    expected, bt_funding, bt_equity = backtest(account, configs, frames)
    played, progress = replay_desk()
    assert played == len(frames["BTCUSDT"][frames["BTCUSDT"].index >= START])
    assert progress and progress[-1]["bars_done"] == played

    from trading.exchanges.paper import PaperExchange

    got = desk_fills(account)
    desk_equity = float(PaperExchange(account).wallet().equity)
    ticks = {s: float(Instrument.objects.get(symbol=s).tick_size) for s in SYMBOLS}
    key = lambda r: (r[0], r[1], r[2] != "exit", r[2])  # noqa: E731  (exits before entries at one time)
    expected.sort(key=key)
    got.sort(key=key)
    worst_price = max((abs(a[5] - b[5]) / ticks[a[1]] for a, b in zip(expected, got, strict=False)), default=0.0)
    worst_qty = max((abs(a[4] - b[4]) for a, b in zip(expected, got, strict=False)), default=0.0)
    equity_diff = abs(desk_equity - bt_equity) / bt_equity
    print(f"\n[parity] {played} bars x {len(SYMBOLS)} symbols: desk fills {len(got)}, backtest fills {len(expected)}; "
          f"largest price difference {worst_price:.3f} ticks, qty {worst_qty:g}; final equity desk {desk_equity:.6f} "
          f"backtest {bt_equity:.6f} ({equity_diff * 100:.6f} %)")
    entries = sum(r[2] == "entry" for r in expected)
    assert entries >= 4, f"the configs traded only {entries} times in {DAYS} days: the test would prove little"
    for i, (a, b) in enumerate(zip(expected, got, strict=False)):
        assert (a[0], a[1], a[2], a[3], a[6]) == (b[0], b[1], b[2], b[3], b[6]), f"fill {i}: backtest {a} != desk {b}"
        assert np.isclose(a[4], b[4], rtol=0, atol=1e-9), f"fill {i}: qty {a[4]} != {b[4]}"
        assert abs(a[5] - b[5]) <= ticks[a[1]] + 1e-9, f"fill {i}: price {a[5]} vs {b[5]}"
        assert abs(a[7] - b[7]) <= a[4] * ticks[a[1]] * 0.001 + 1e-9, f"fill {i}: fee {a[7]} vs {b[7]}"
    assert len(got) == len(expected), f"desk {len(got)} fills, backtest {len(expected)}"
    paid = desk_funding(account)
    desk_pp, bt_pp = paid["per_position"], bt_funding["per_position"]
    worst_funding = max((abs(desk_pp.get(k, 0.0) - v) for k, v in bt_pp.items()), default=0.0)
    print(f"[parity] funding: desk {len(paid['times'])} payments, {sum(desk_pp.values()):.6f} USDT over "
          f"{len(desk_pp)} positions; backtest {len(bt_funding['times'])} payments, {sum(bt_pp.values()):.6f} USDT "
          f"over {len(bt_pp)} positions; largest difference per position {worst_funding:.6f} USDT")
    assert len(bt_funding["times"]) >= 2, "no position was held at a funding time: the funding half proves nothing"
    assert paid["times"] == bt_funding["times"], f"funding times: desk {sorted(paid['times'])} != backtest"
    assert set(desk_pp) == set(bt_pp)
    assert worst_funding < 0.01
    assert abs(sum(desk_pp.values()) - sum(bt_pp.values())) < 0.01
    slipped = [r for r in expected if r[2] == "entry"]
    assert slipped and all(r[5] != float(frames[r[1]].loc[pd.Timestamp(r[0]), "open"]) for r in slipped
                           if pd.Timestamp(r[0]) in frames[r[1]].index), "entries should pay the 1 bp slippage"
    assert equity_diff <= 1e-4
    # replay time, not the wall clock, stamped what the desk recorded
    last = END + timedelta(minutes=5)
    for model, field in ((Signal, "created_at"), (Order, "created_at"), (MonitorDecision, "decided_at"),
                         (Position, "opened_at")):
        stamps = list(model.objects.values_list(field, flat=True))
        assert stamps and all(START <= t <= last for t in stamps), f"{model.__name__}.{field} outside the replay"
