"""manage.py download_candles --symbol S --interval 5m --since DATE [--until DATE] [--kind trade|mark] [--no-mark]
[--funding]. Trade candles come with the mark-price candles of the same interval (liquidation triggers on the finest
stored mark) unless ``--no-mark``; ``--kind mark`` downloads the mark alone."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trading.choices import TIMEFRAMES, CandleKind
from trading.marketdata.bybit import BybitError
from trading.marketdata.download import download_candles, download_candles_and_mark, download_funding
from trading.marketdata.store import parse_utc


class Command(BaseCommand):
    help = "Download closed candles (and optionally funding history) from Bybit through pybit; resumes."

    def add_arguments(self, parser):
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--interval", choices=list(TIMEFRAMES), default="5m")
        parser.add_argument("--since", required=True, help="UTC date or date-time, e.g. 2025-01-01")
        parser.add_argument("--until", help="UTC date or date-time (default: now)")
        parser.add_argument("--kind", choices=CandleKind.values, default=CandleKind.TRADE)
        parser.add_argument("--no-mark", action="store_true",
                            help="trade candles only (by default the same interval's mark-price candles come too)")
        parser.add_argument("--funding", action="store_true", help="also download the funding history")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, symbol, interval, since, until, kind, no_mark, funding, no_progress, **options):
        try:
            since_dt, until_dt = parse_utc(since), (parse_utc(until) if until else None)
            if kind == CandleKind.TRADE and not no_mark:
                reports = download_candles_and_mark(symbol=symbol, interval=interval, since=since_dt, until=until_dt,
                                                    progress=not no_progress)
            else:
                reports = [download_candles(symbol=symbol, interval=interval, since=since_dt, until=until_dt,
                                            kind=kind, progress=not no_progress)]
            for report in reports:
                self.stdout.write(report.summary())
            if funding:
                self.stdout.write(download_funding(symbol=symbol, since=since_dt, until=until_dt,
                                                   progress=not no_progress).summary())
        except (BybitError, ValueError) as exc:
            raise CommandError(f"{exc} (rerun to resume)") from exc
