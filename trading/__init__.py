"""Trading app: accounts, instruments, candles, orders, positions, fills, backtests."""
