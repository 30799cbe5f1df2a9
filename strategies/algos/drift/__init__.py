"""The drift forecaster ("calculus" strategy, spec 5.4): seven small layers and the strategy that combines them."""
