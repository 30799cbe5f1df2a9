"""manage.py import_candles PATH --symbol S --interval 5m [--kind trade|mark] | --funding: validated, idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trading.choices import TIMEFRAMES, CandleKind
from trading.marketdata.files import FileFormatError
from trading.marketdata.importer import import_candles, import_funding


class Command(BaseCommand):
    help = ("Import candles (CSV, CSV.gz, Parquet; desk or Bybit kline layout) or, with --funding, funding rates. "
            "The whole file is validated first; a bad file writes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--interval", choices=list(TIMEFRAMES), help="bar interval (not with --funding)")
        parser.add_argument("--kind", choices=CandleKind.values, default=CandleKind.TRADE)
        parser.add_argument("--funding", action="store_true", help="the file holds timestamp,funding_rate")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, path, symbol, interval, kind, funding, no_progress, **options):
        progress = not no_progress
        try:
            if funding:
                report = import_funding(path=path, symbol=symbol, progress=progress)
            else:
                if not interval:
                    raise CommandError("--interval is required for candles")
                report = import_candles(path=path, symbol=symbol, interval=interval, kind=kind, progress=progress)
        except FileFormatError as exc:
            raise CommandError(f"rejected, nothing written: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
        for gap in getattr(report, "gaps", [])[:20]:
            self.stdout.write(f"  gap {gap}")
