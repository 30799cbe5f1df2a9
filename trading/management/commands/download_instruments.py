"""manage.py download_instruments [--symbol S ...]: instruments-info + risk-limit tiers into Instrument."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from trading.marketdata.bybit import BybitError
from trading.marketdata.instruments import download_instruments


class Command(BaseCommand):
    help = "Download tick size, qty step, min qty/notional, max leverage and risk tiers of USDT perpetuals."

    def add_arguments(self, parser):
        parser.add_argument("--symbol", action="append", dest="symbols", help="repeatable; default: all")

    def handle(self, *args, symbols, **options):
        try:
            changes = download_instruments(symbols=symbols)
        except (BybitError, ValidationError) as exc:
            raise CommandError(f"nothing saved: {exc}") from exc
        for c in changes:
            self.stdout.write(f"{c.symbol}: {'created' if c.created else 'updated'}, {c.tiers} risk tiers")
