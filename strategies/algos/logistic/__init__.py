"""Logistic Regression strategy (spec 2 and 5.2): a walk-forward logistic classifier plus the TradingView loss."""
