"""Persistence of the desk: accounts, instruments, market data, signals, orders, positions, fills,
monitor decisions, equity snapshots and backtest runs."""

from .accounts import Account, DeskSettings
from .backtests import BacktestRun
from .execution import Fill, Order, Position
from .market import Candle, FundingRate, Instrument
from .monitoring import EquitySnapshot, MonitorDecision, Signal
from .paper import PaperAccountState
from .safety import KillSwitchEvent

__all__ = [
    "Account",
    "BacktestRun",
    "Candle",
    "DeskSettings",
    "EquitySnapshot",
    "Fill",
    "FundingRate",
    "Instrument",
    "KillSwitchEvent",
    "MonitorDecision",
    "Order",
    "PaperAccountState",
    "Position",
    "Signal",
]
