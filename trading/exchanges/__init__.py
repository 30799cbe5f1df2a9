"""Exchange adapters behind one protocol: ``paper`` (the engine's simulator) and ``bybit`` (pybit)."""
