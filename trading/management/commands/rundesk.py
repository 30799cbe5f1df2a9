"""manage.py rundesk: start web, the trading and research workers, beat and the feed (and the embedded Redis when
REDIS_URL is unset) together; a child that dies is restarted with backoff. ``--prepare`` first runs migrate,
collectstatic (each only when needed) and bootstrap_desk in this same process (``quantdesk/prepare.py``; what
``./desk start`` does: one interpreter start-up instead of four)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from quantdesk.launcher import run


class Command(BaseCommand):
    help = "Run the whole desk in the foreground; Ctrl-C stops every process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=1,
                            help="processes of the research worker (the trading worker always has its own one)")
        parser.add_argument("--feed", choices=["live", "off"], default=os.environ.get("QUANTDESK_FEED", "live"),
                            help="live: the Bybit public WebSocket feed; off: none (run a replay yourself)")
        parser.add_argument("--prepare", action="store_true",
                            help="first migrate, collectstatic and bootstrap_desk (as ./desk start does)")

    def handle(self, *args, host: str, port: int, concurrency: int, feed: str, prepare: bool = False, **options):
        if prepare:
            from quantdesk.prepare import prepare as prepare_desk

            prepare_desk(stdout=self.stdout)
            self.stdout.flush()
        raise SystemExit(run(host=host, port=port, concurrency=concurrency, feed=feed))
