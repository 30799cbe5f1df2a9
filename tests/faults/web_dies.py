"""A web process that dies (SIGKILL to itself) in the middle of a kill-switch request: after the switch was
committed, as its own close pass starts (or, if it gets that far, with the close order written ``pending`` just
as it would be sent). The durable close job, queued when the switch committed, may already be closing on a worker:
either way the web process dies before its request answers. Run by the fault suite:
``python -m tests.faults.web_dies ACCOUNT_ID USER_ID``."""

from __future__ import annotations

import os
import signal
import sys

import django


def main(account_id: int, user_id: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    from trading.exchanges.paper import PaperExchange
    from trading.models import Account
    from trading.services.controls import engage_kill_switch

    real = PaperExchange.place_order

    def place_order(self, intent):
        if intent.reduce_only:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, intent)

    PaperExchange.place_order = place_order

    from trading.services import kill_switch

    def close_open_positions(**kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    kill_switch.close_open_positions = close_open_positions
    engage_kill_switch(account=Account.objects.get(pk=account_id), user=get_user_model().objects.get(pk=user_id),
                       reason="web process dies mid-request")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
