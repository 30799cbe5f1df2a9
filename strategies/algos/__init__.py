"""Pure-Python strategy library: the strategy interface, indicator primitives and each algorithm.
Never imports Django, Celery, Channels or pybit."""

from trading.engine.kernel_cache import ensure_fresh as _ensure_fresh

_ensure_fresh()  # cached numba kernels compiled from older sources are dropped (see kernel_cache.py)
