"""Strategies app: the Strategy and StrategyConfig models over the pure algorithm library."""
