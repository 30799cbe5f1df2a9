"""What the fake lists: engine Instruments plus the display fields Bybit adds (priceScale, price and
order-size limits, funding caps), and their instruments-info / risk-limit / fee-rate shapes."""

from __future__ import annotations

from dataclasses import dataclass

from trading.engine.instruments import DEFAULT_INSTRUMENTS, Instrument
from trading.engine.rounding import step_decimals

from .formats import fixed, money, plain

LAUNCH_TIME = "1584230400000"


@dataclass(frozen=True)
class Listing:
    """One linear perpetual as the fake serves it; every rule lives in ``instrument`` (the engine's)."""

    instrument: Instrument
    price_scale: int
    min_price: float
    max_price: float
    max_order_qty: float
    max_mkt_order_qty: float
    upper_funding_rate: float = 0.005
    lower_funding_rate: float = -0.005
    funding_cap: float = 0.005

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def qty_places(self) -> int:
        return int(step_decimals(self.instrument.qty_step))

    def price(self, x: float) -> str:
        """Price string at priceScale, snapped to the tick (Bybit: "65000.10")."""
        return fixed(self.instrument.snap_price(x), self.price_scale)

    def raw_price(self, x: float) -> str:
        """Price string at priceScale without snapping (entry averages, liq and bankruptcy prices)."""
        return fixed(x, self.price_scale)

    def qty(self, x: float) -> str:
        """Quantity string at the qtyStep's decimals."""
        return fixed(x, self.qty_places)

    def instrument_info(self) -> dict:
        inst = self.instrument
        base = self.symbol.removesuffix("USDT")
        return {
            "symbol": self.symbol, "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": base, "quoteCoin": "USDT", "launchTime": LAUNCH_TIME, "deliveryTime": "0",
            "deliveryFeeRate": "", "priceScale": str(self.price_scale),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": fixed(inst.max_leverage, 2),
                               "leverageStep": "0.01"},
            "priceFilter": {"minPrice": self.price(self.min_price), "maxPrice": self.price(self.max_price),
                            "tickSize": fixed(inst.tick_size, self.price_scale)},
            "lotSizeFilter": {"maxOrderQty": self.qty(self.max_order_qty), "minOrderQty": self.qty(inst.min_qty),
                              "qtyStep": self.qty(inst.qty_step), "postOnlyMaxOrderQty": self.qty(self.max_order_qty),
                              "maxMktOrderQty": self.qty(self.max_mkt_order_qty),
                              "minNotionalValue": plain(inst.min_notional)},
            "unifiedMarginTrade": True, "fundingInterval": int(inst.funding_interval_minutes),
            "settleCoin": "USDT", "copyTrading": "both",
            "upperFundingRate": plain(self.upper_funding_rate), "lowerFundingRate": plain(self.lower_funding_rate),
            "isPreListing": False, "preListingInfo": None,
        }

    def risk_limits(self) -> list[dict]:
        rows = []
        for k, tier in enumerate(self.instrument.tiers):
            rows.append({
                "id": k + 1, "symbol": self.symbol, "riskLimitValue": plain(tier.risk_limit_value),
                "maintenanceMargin": plain(tier.mmr), "initialMargin": money(tier.imr, 8),
                "isLowestRisk": 1 if k == 0 else 0, "maxLeverage": fixed(tier.max_leverage, 2),
                "mmDeduction": "" if k == 0 else money(tier.mm_deduction),
            })
        return rows

    def tier(self, position_value: float):
        """(1-based riskId, RiskTier) for a position value, the engine choosing the tier."""
        k = self.instrument.tier_index(position_value)
        k = k if k >= 0 else len(self.instrument.tiers) - 1
        return k + 1, self.instrument.tiers[k]


def default_listings() -> dict[str, Listing]:
    """BTCUSDT and ETHUSDT with the engine's filters/tiers and Bybit's documented display fields."""
    btc, eth = DEFAULT_INSTRUMENTS["BTCUSDT"], DEFAULT_INSTRUMENTS["ETHUSDT"]
    return {
        "BTCUSDT": Listing(btc, price_scale=2, min_price=0.1, max_price=1999999.8, max_order_qty=1190.0,
                           max_mkt_order_qty=500.0),
        "ETHUSDT": Listing(eth, price_scale=2, min_price=0.01, max_price=199999.98, max_order_qty=7240.0,
                           max_mkt_order_qty=3620.0),
    }


def listing_for(instrument: Instrument, **extra) -> Listing:
    """A Listing for any engine Instrument, with generic limits unless given."""
    scale = extra.pop("price_scale", int(step_decimals(instrument.tick_size)))
    fields = {"min_price": instrument.tick_size, "max_price": 1e7 * instrument.tick_size * 100,
              "max_order_qty": instrument.qty_step * 1e6, "max_mkt_order_qty": instrument.qty_step * 5e5}
    fields.update(extra)
    return Listing(instrument, price_scale=scale, **fields)
