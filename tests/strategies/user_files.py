"""Strategy files the user-strategy tests drop into a temporary folder: the template, broken modules, and the
planted-bias fixtures (a ``shift(-1)`` peeker, a running max since bar 0)."""

from __future__ import annotations

from pathlib import Path

from strategies.algos.template import render

HEADER = '''from strategies.algos.base import DefaultSizing, ParamSpec, PlotSpec, Strategy, make_signal_frame
import numpy as np


class _Planted(Strategy):
    label = "planted"
    default_sizing = DefaultSizing(leverage=20, mode="fixed", allocation=0.10)
    PARAMS = (ParamSpec("length", "int", 20, 2, 500, help="bars"),)

    def warmup_bars(self):
        return 100
'''

# peeks one bar ahead: the signal at t reads close[t + 1]
PEEKER = HEADER + '''

class Peeker(_Planted):
    name = "peeker"

    @classmethod
    def plots(cls):
        return (PlotSpec("next close", "next_close", "overlay", "#ff0000"),)

    def _compute(self, candles, context):
        nxt = candles["close"].shift(-1)
        signal = np.sign((nxt - candles["close"]).fillna(0).to_numpy()).astype(np.int8)
        return make_signal_frame(candles.index, signal, layers={"next_close": nxt.to_numpy()})
'''

# depends on the data start: the highest close since bar 0
RUNNING_MAX = HEADER + '''

class RunningMax(_Planted):
    name = "running_max"

    def _compute(self, candles, context):
        high = candles["close"].cummax()
        signal = np.where(candles["close"] >= high, 1, -1).astype(np.int8)
        return make_signal_frame(candles.index, signal, layers={"running_max": high.to_numpy()})
'''

SYNTAX_ERROR = "from strategies.algos.base import Strategy\n\nclass Broken(Strategy):\n    name = 'broken'\n    def (:\n"

RAISES_ON_IMPORT = "import strategies.algos.base\n\nraise RuntimeError('the data file this strategy wants is missing')\n"

# one good class and one whose default breaks its own schema: neither may be registered
HALF_GOOD = HEADER + '''

class Good(_Planted):
    name = "half_good"

    def _compute(self, candles, context):
        return make_signal_frame(candles.index, np.zeros(len(candles), dtype=np.int8))


class Bad(_Planted):
    name = "half_bad"
    timeframe = "7m"

    def _compute(self, candles, context):
        return make_signal_frame(candles.index, np.zeros(len(candles), dtype=np.int8))
'''


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def template(name: str = "my_cross") -> str:
    return render(name)[0]
