"""Persistence of the desk: accounts, instruments, market data, signals, orders, positions, fills,
monitor decisions, equity snapshots, backtest runs and research studies."""

from .accounts import Account, DeskSettings
from .backtests import BacktestRun
from .execution import Fill, Order, Position
from .market import Candle, FundingRate, Instrument
from .monitoring import EquitySnapshot, MonitorDecision, Signal
from .paper import PaperAccountState
from .research import LiveGateOverride, ResearchStudy, StudyStatus

__all__ = [
    "Account",
    "BacktestRun",
    "Candle",
    "DeskSettings",
    "EquitySnapshot",
    "Fill",
    "FundingRate",
    "Instrument",
    "LiveGateOverride",
    "MonitorDecision",
    "Order",
    "PaperAccountState",
    "Position",
    "ResearchStudy",
    "Signal",
    "StudyStatus",
]
