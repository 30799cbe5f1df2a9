"""Tests of the exchange adapters: one contract over paper and live Bybit (real pybit against the fake
exchange), the live adapter's mapping, faults and retries, and the factory's live-trading refusal."""
