"""Lorentzian Classification (jdehorty, spec sections 1 and 5.1): features, filters, kernels, neighbours, trades."""
