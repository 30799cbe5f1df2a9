"""Persistence of the desk: accounts, instruments, market data, signals, orders, positions, fills,
monitor decisions, run records (duration and queries of each tick and cycle), equity snapshots, backtest runs,
research studies, alert channels and the kill switch's audit log."""

from .accounts import Account, DeskSettings
from .alerts import AlertChannel
from .backtests import BacktestRun
from .desk import DeskEvent, ManualAction
from .execution import Fill, Order, Position
from .market import Candle, FundingRate, Instrument
from .monitoring import EquitySnapshot, MonitorDecision, Signal
from .paper import PaperAccountState
from .research import LiveGateOverride, ResearchStudy, StudyKind, StudyStatus
from .runs import RunRecord
from .safety import KillSwitchEvent

__all__ = [
    "Account",
    "AlertChannel",
    "BacktestRun",
    "Candle",
    "DeskEvent",
    "DeskSettings",
    "EquitySnapshot",
    "Fill",
    "FundingRate",
    "Instrument",
    "KillSwitchEvent",
    "LiveGateOverride",
    "StudyKind",
    "ManualAction",
    "MonitorDecision",
    "Order",
    "PaperAccountState",
    "Position",
    "ResearchStudy",
    "RunRecord",
    "Signal",
    "StudyStatus",
]
