"""manage.py run_private_stream [--account ID ...] [--poll-every 2]: Bybit's private WebSocket for every account
switched to live (mode live, the live switch on, keys stored), each followed by reconciliations (see
trading/services/private_stream.py). Nothing to follow -> it says so and exits; Ctrl-C / SIGTERM stop it."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from trading.exchanges.bybit_stream import PrivateStream
from trading.exchanges.factory import live_refusal
from trading.models import Account
from trading.services.private_stream import AccountFollower


class Command(BaseCommand):
    help = "Follow live accounts' Bybit private streams (executions, orders, positions, wallet)."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, nargs="+", help="account ids (default: every live account)")
        parser.add_argument("--poll-every", type=float, default=2.0,
                            help="seconds between reconciliations while a stream is down (default 2)")

    def handle(self, *args, **o):
        if o["poll_every"] <= 0:
            raise CommandError(f"--poll-every: {o['poll_every']} must be above 0 seconds")
        accounts = Account.objects.filter(mode="live", live_trading_enabled=True)
        if o["account"]:
            accounts = Account.objects.filter(pk__in=o["account"])
        chosen = []
        for account in accounts.order_by("pk"):
            reason = live_refusal(account)
            if reason:
                if o["account"]:
                    raise CommandError(reason)
                continue
            chosen.append(account)
        if not chosen:
            self.stdout.write("no live account to follow (paper accounts need no private stream)")
            return
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        threads = []
        try:
            for account in chosen:
                follower = AccountFollower(account_id=account.pk, poll_every=o["poll_every"])
                stream = PrivateStream(account=account, on_change=follower.notify)
                for target, label in ((follower.run, "follow"), (stream.run, "stream")):
                    t = threading.Thread(target=target, kwargs={"stop": stop}, daemon=True,
                                         name=f"private-{label}-{account.pk}")
                    t.start()
                    threads.append(t)
            self.stdout.write(f"private streams: {', '.join(f'{a.pk} ({a.name})' for a in chosen)}")
            stop.wait()
        finally:
            stop.set()
            for t in threads:
                t.join(10)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("private streams stopped")
