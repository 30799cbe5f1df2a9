"""Pure-Python trading engine: instruments, sizing, margin/liquidation, fees, funding, the simulator,
the backtest runner, metrics and rebalance rules. Never imports Django, Celery, Channels or pybit."""
