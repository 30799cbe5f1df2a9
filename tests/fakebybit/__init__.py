"""Tests of the fake Bybit V5 exchange, all through the real pybit client."""
