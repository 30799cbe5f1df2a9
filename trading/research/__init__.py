"""Research without Django: walk-forward folds, overfitting statistics (DSR, PBO), Monte Carlo, the optimiser's
search space and the verdict rules. The services in ``trading/services/research*.py`` drive it."""
