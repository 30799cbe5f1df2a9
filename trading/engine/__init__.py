"""Pure-Python trading engine: instruments, sizing, margin/liquidation, fees, funding, the simulator,
the backtest runner, metrics and rebalance rules. Never imports Django, Celery, Channels or pybit."""

from trading.engine.kernel_cache import ensure_fresh as _ensure_fresh

_ensure_fresh()  # cached numba kernels compiled from older sources are dropped (see kernel_cache.py)
