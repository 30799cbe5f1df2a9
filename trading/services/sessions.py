"""What ends a login: a logout closes that session's dashboard sockets; a password change deletes every API
token of the user and closes all their sockets; an API token is rotated (a new one issued, the old one
deleted, in one transaction). Called from the auth signal receivers (``trading/auth_signals.py``) and the
token views."""

from __future__ import annotations

import logging

from django.db import transaction

from trading.events import close_sockets, session_group, user_group

log = logging.getLogger(__name__)


def _close(group: str, reason: str) -> None:
    try:
        close_sockets(group=group, reason=reason)
    except Exception:  # Redis down must not make a logout or a password change fail
        log.warning("could not close the dashboard sockets of %s (%s)", group.split(".")[0], reason, exc_info=True)


def end_session_sockets(*, session_key: str) -> None:
    """Close the dashboard sockets opened by one login session (its logout)."""
    _close(session_group(session_key), "logged out")


def revoke_after_password_change(*, user_id: int) -> int:
    """Delete every API token of the user and close all their sockets (after commit); returns tokens deleted."""
    from knox.models import AuthToken

    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    transaction.on_commit(lambda: _close(user_group(user_id), "password changed"))
    return deleted


def prune_tokens(*, user_id: int, keep: int) -> int:
    """Delete the user's expired tokens and all but the newest ``keep`` others; returns how many went."""
    from django.utils import timezone
    from knox.models import AuthToken

    mine = AuthToken.objects.filter(user_id=user_id)
    gone, _ = mine.filter(expiry__lt=timezone.now()).delete()
    surplus = list(mine.order_by("-created", "-pk").values_list("pk", flat=True)[keep:])
    if surplus:
        gone += AuthToken.objects.filter(pk__in=surplus).delete()[0]
    return gone


def rotate_token(*, token) -> tuple[object, str]:
    """A new token for the owner of ``token`` (same lifetime rule) and ``token`` deleted: (instance, key)."""
    from knox.models import AuthToken
    from knox.settings import knox_settings

    with transaction.atomic():
        instance, key = AuthToken.objects.create(user=token.user, expiry=knox_settings.TOKEN_TTL,
                                                 prefix=knox_settings.TOKEN_PREFIX)
        AuthToken.objects.filter(pk=token.pk).delete()
    return instance, key
