"""Run the advanced-ta 0.1.8 Lorentzian Classification oracle inside its own venv (numpy<2, pandas<3).

Usage: <oracle-venv>/bin/python advanced_ta_lorentzian.py candles.csv features.npy out.csv [k] [max_bars_back]
candles.csv has lower-case open/high/low/close/volume columns; features.npy is a (features, bars) float64 matrix
computed by QuantDesk and passed in as arrays (spec 1.9 oracle recipe). Every FilterSettings field is passed
explicitly (advanced-ta's defaults are truthy 1-tuples) and Settings.source is a Series.
"""

import sys

import numpy as np
import pandas as pd
from advanced_ta import LorentzianClassification as LC


def main(candles_csv, features_npy, out_csv, k=8, max_bars_back=2000):
    df = pd.read_csv(candles_csv)
    feats = np.load(features_npy)
    lc = LC(
        df,
        features=[feats[i] for i in range(feats.shape[0])],
        settings=LC.Settings(source=df["close"], neighborsCount=int(k), maxBarsBack=int(max_bars_back),
                             useDynamicExits=False, useEmaFilter=False, emaPeriod=200,
                             useSmaFilter=False, smaPeriod=200),
        filterSettings=LC.FilterSettings(useVolatilityFilter=True, useRegimeFilter=True, useAdxFilter=False,
                                         regimeThreshold=-0.1, adxThreshold=20, kernelFilter=LC.KernelFilter()),
    )
    out = lc.data[["prediction", "signal", "barsHeld", "startLongTrade", "startShortTrade",
                   "endLongTrade", "endShortTrade"]].copy()
    out["yhat1"] = lc.yhat1
    out.to_csv(out_csv, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
