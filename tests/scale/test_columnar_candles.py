"""Backtests and sweeps load candles through the columnar reader: the same frame the model-instance path gave
(the reference below is that old path), funding the same values, None when nothing is stored."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tests.desk_fixtures import T0, seed_candles
from trading.models import Candle, FundingRate
from trading.services.backtests import load_candle_frame, load_funding


def _reference(symbol, interval, start, end) -> pd.DataFrame:
    cols = ["open", "high", "low", "close", "volume"]
    rows = list(Candle.objects.filter(symbol=symbol, interval=interval, kind="trade", open_time__gte=start,
                                      open_time__lte=end).order_by("open_time").values_list("open_time", *cols))
    index = pd.DatetimeIndex([r[0] for r in rows], name="open_time").tz_convert("UTC")
    return pd.DataFrame(np.array([[float(v) for v in r[1:]] for r in rows]), index=index, columns=cols)


@pytest.mark.django_db
def test_service_load_equals_the_model_path():
    seed_candles(600)
    start, end = T0 + timedelta(minutes=5 * 100), T0 + timedelta(minutes=5 * 399)
    frame = load_candle_frame(symbol="BTCUSDT", interval="5m", start=start, end=end)
    assert len(frame) == 300 and frame.index[0] == start and frame.index[-1] == end
    ref = _reference("BTCUSDT", "5m", start, end)
    assert (frame.index == ref.index).all() and str(frame.index.tz) == "UTC"
    np.testing.assert_array_equal(frame.to_numpy(), ref.to_numpy())
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert load_candle_frame(symbol="BTCUSDT", interval="1h", start=start, end=end).empty


@pytest.mark.django_db
def test_funding_loaded_as_floats_or_none():
    assert load_funding(symbol="BTCUSDT", start=T0, end=T0 + timedelta(days=1)) is None
    FundingRate.objects.bulk_create([FundingRate(symbol="BTCUSDT", funding_time=T0 + timedelta(hours=8 * i),
                                                 rate=Decimal("0.0001") * (i + 1)) for i in range(3)])
    series = load_funding(symbol="BTCUSDT", start=T0, end=T0 + timedelta(hours=8))
    assert series.tolist() == [0.0001, 0.0002] and series.index[1] == T0 + timedelta(hours=8)
