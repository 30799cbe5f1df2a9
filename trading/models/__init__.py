"""Persistence of the desk: accounts, instruments, market data, signals, orders, positions, fills,
monitor decisions, run records (duration and queries of each tick and cycle), equity snapshots, backtest runs and alert channels."""

from .accounts import Account, DeskSettings
from .alerts import AlertChannel
from .backtests import BacktestRun
from .execution import Fill, Order, Position
from .market import Candle, FundingRate, Instrument
from .monitoring import EquitySnapshot, MonitorDecision, Signal
from .paper import PaperAccountState
from .runs import RunRecord
from .safety import KillSwitchEvent

__all__ = [
    "Account",
    "AlertChannel",
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
    "RunRecord",
    "Signal",
]
