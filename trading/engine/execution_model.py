"""How orders meet the market in every simulator: the entry order kind (market, or post-only limit at the touch
with a timeout and a taker fallback) and the slippage model of market fills, with their limits and one
validator naming the field and the limit. The rules themselves are in rules.py (``post_only_filled``,
``post_only_expired``, ``slipped_price``); this module only holds the settings.

Default slippage: 1 basis point, fixed, against the taker, in paper AND in backtests. Bybit's BTC/ETH perpetual
books quote a spread of about 0.1-0.2 bp, and a desk-sized market order (hundreds to a few thousand USDT)
walks at most the first levels, but the price moves while the order travels (the paper price may be up to
``QUANTDESK_MAX_PRICE_AGE_SECONDS`` old); 1 bp is a small, honest cost that a strategy must beat, and zero
would let paper and backtests look better than live."""

from __future__ import annotations

MARKET, POST_ONLY = "market", "post_only"
ENTRY_ORDERS = (MARKET, POST_ONLY)
ENTRY_TIMEOUT_MIN, ENTRY_TIMEOUT_MAX = 30, 3600  # seconds; a whole number of 30-s monitor ticks
ENTRY_TIMEOUT_STEP = 30
ENTRY_TIMEOUT_DEFAULT = 60
SLIPPAGE_BPS_DEFAULT = 1.0
SLIPPAGE_BPS_MAX = 100.0
SLIPPAGE_RANGE_MAX = 1.0


class ExecutionSettingError(ValueError):
    """A bad execution setting; ``field`` names it, the message names the limit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def validate_execution(*, entry_order: str = MARKET, entry_timeout_seconds: float = ENTRY_TIMEOUT_DEFAULT,
                       slippage_bps: float = SLIPPAGE_BPS_DEFAULT, slippage_range_fraction: float = 0.0) -> None:
    """Raise ExecutionSettingError naming the field and the limit for anything outside the allowed ranges."""
    if entry_order not in ENTRY_ORDERS:
        raise ExecutionSettingError("entry_order", f"entry_order: {entry_order!r} is not one of "
                                                   f"{', '.join(ENTRY_ORDERS)}")
    t = float(entry_timeout_seconds)
    if not ENTRY_TIMEOUT_MIN <= t <= ENTRY_TIMEOUT_MAX or t % ENTRY_TIMEOUT_STEP:
        raise ExecutionSettingError(
            "entry_timeout_seconds", f"entry_timeout_seconds: {entry_timeout_seconds:g} must be a multiple of "
                                     f"{ENTRY_TIMEOUT_STEP} within {ENTRY_TIMEOUT_MIN}..{ENTRY_TIMEOUT_MAX} "
                                     f"(the monitor's 30-s tick cancels it)")
    b = float(slippage_bps)
    if not 0.0 <= b <= SLIPPAGE_BPS_MAX:
        raise ExecutionSettingError("slippage_bps", f"slippage_bps: {slippage_bps:g} is outside "
                                                    f"0..{SLIPPAGE_BPS_MAX:g} basis points")
    r = float(slippage_range_fraction)
    if not 0.0 <= r <= SLIPPAGE_RANGE_MAX:
        raise ExecutionSettingError("slippage_range_fraction", f"slippage_range_fraction: {slippage_range_fraction:g} "
                                                               f"is outside 0..{SLIPPAGE_RANGE_MAX:g} of the bar's range")
