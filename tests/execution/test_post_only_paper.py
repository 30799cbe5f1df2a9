"""The worked post-only case of tests/engine/test_execution_model.py on the paper exchange itself (Django, the
stored state, the entries service), driven with the same bars as the backtest kernel: the same fill, price and fee.

Kelly 0.5 at 10x on a 1,000 USDT paper account, fees 0.02 % / 0.06 %, 1 bp slippage; bar 0 closes with signal +1
and bar 1 opens at 50,000, where the post-only buy rests for 1,000 x 0.5 x 10 / 50,000 = 0.1."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.engine.test_execution_model import bars, config, kernel_fills
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.exchanges.paper import PaperExchange
from trading.models import Fill
from trading.services.entries import settle_entries
from trading.services.positions import open_position
from trading.services.recording import sync_account

START_MS = 1_746_079_200_000  # 2025-05-01 06:00 UTC, the kernel case's first bar
BAR_MS = 300_000


def paper_desk():
    make_instrument("BTCUSDT")
    account = make_account(make_user(), starting_capital=Decimal("1000"))  # default slippage: 1 bp
    cfg = make_config(account, make_strategy("chandelier"), leverage=Decimal("10"), sizing_mode="kelly",
                      allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("1"),
                      entry_order="post_only", entry_timeout_seconds=60)
    quotes = {}
    return account, cfg, quotes, PaperExchange(account, quote=quotes.get)


def drive(candles):
    """Bar 1's open is the signal price; bar 1 is stepped whole (one sub-bar, as run_backtest walks it); the
    monitor tick at its close settles the entry (a fallback fills at that close)."""
    account, cfg, quotes, paper = paper_desk()
    t1 = START_MS + BAR_MS
    quotes["BTCUSDT"] = {"last": 50_000.0, "ts": t1}
    order = open_position(config=cfg, symbol="BTCUSDT", side=1, bar_time=candles.index[0].to_pydatetime(),
                          exchange=paper).order
    assert (order.order_type, order.price, order.status) == ("Limit", Decimal("50000"), "new")
    o, h, lo, c = (float(candles.iloc[1][k]) for k in ("open", "high", "low", "close"))
    paper.step("BTCUSDT", start=t1, end=t1 + BAR_MS, open=o, high=h, low=lo, close=c)
    quotes["BTCUSDT"] = {"last": c, "ts": t1 + BAR_MS}
    sync_account(account=account, exchange=paper)
    settle_entries(account=account, exchange=paper, now=order.created_at + timedelta(seconds=BAR_MS // 1000))
    fills = Fill.objects.filter(account=account, exec_type="Trade").order_by("pk")
    return [(1, "entry", float(f.qty), float(f.price), float(f.fee)) for f in fills], [f.is_maker for f in fills]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("low1, maker", [(49_990.0, True), (50_000.0, False)])
def test_paper_fills_the_post_only_case_as_the_backtest_does(low1, maker):
    candles = bars(low1=low1)
    expected = kernel_fills(candles, config())
    got, is_maker = drive(candles)
    assert len(got) == len(expected) == 1 and is_maker == [maker]
    g, e = got[0], expected[0]
    assert g[:2] == e[:2] and g[2:] == pytest.approx(e[2:], rel=1e-12, abs=1e-9), (g, e)
