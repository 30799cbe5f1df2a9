"""manage.py run_private_stream [--account ID ...] [--poll-every 2] [--wait]: Bybit's private WebSocket for every
account switched to live (mode live, the live switch on, keys stored), each followed by reconciliations (see
trading/services/private_stream.py). Nothing to follow -> it says so and exits, unless ``--wait`` (as ``rundesk``
runs it): then it looks for live accounts every 30 s and follows each new one. Ctrl-C / SIGTERM stop it."""

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
        parser.add_argument("--wait", action="store_true",
                            help="keep running: follow accounts as they are switched to live (checked every 30 s)")

    def handle(self, *args, **o):
        if o["poll_every"] <= 0:
            raise CommandError(f"--poll-every: {o['poll_every']} must be above 0 seconds")
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        following: dict[int, list[threading.Thread]] = {}
        try:
            while not stop.is_set():
                for account in self._live_accounts(o["account"]):
                    if account.pk not in following:
                        following[account.pk] = self._follow(account, stop, o["poll_every"])
                        self.stdout.write(f"private stream: account {account.pk} ({account.name})")
                if not following and not o["wait"]:
                    self.stdout.write("no live account to follow (paper accounts need no private stream)")
                    return
                stop.wait(30.0 if o["wait"] else None)
        finally:
            stop.set()
            for threads in following.values():
                for t in threads:
                    t.join(10)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("private streams stopped")

    @staticmethod
    def _live_accounts(ids: list[int] | None) -> list[Account]:
        accounts = Account.objects.filter(pk__in=ids) if ids else Account.objects.filter(
            mode="live", live_trading_enabled=True)
        chosen = []
        for account in accounts.order_by("pk"):
            reason = live_refusal(account)
            if reason and ids:
                raise CommandError(reason)
            if not reason:
                chosen.append(account)
        return chosen

    @staticmethod
    def _follow(account: Account, stop: threading.Event, poll_every: float) -> list[threading.Thread]:
        follower = AccountFollower(account_id=account.pk, poll_every=poll_every)
        stream = PrivateStream(account=account, on_change=follower.notify)
        threads = [threading.Thread(target=fn, kwargs={"stop": stop}, daemon=True,
                                    name=f"private-{label}-{account.pk}")
                   for fn, label in ((follower.run, "follow"), (stream.run, "stream"))]
        for t in threads:
            t.start()
        return threads
