"""Pure-Python strategy library: the strategy interface, indicator primitives and each algorithm.
Never imports Django, Celery, Channels or pybit."""
