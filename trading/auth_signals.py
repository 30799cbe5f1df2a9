"""Signal receivers that end what a login opened: ``user_logged_out`` closes that session's sockets; a saved
password that differs from the stored one revokes the user's API tokens and closes all their sockets.
Connected in ``TradingConfig.ready``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save

from trading.services import sessions


def on_logged_out(sender, request=None, user=None, **kwargs) -> None:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key:
        sessions.end_session_sockets(session_key=key)


def remember_old_password(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        instance._qd_password_changed = False
        return
    old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._qd_password_changed = old is not None and old != instance.password


def on_user_saved(sender, instance, created=False, **kwargs) -> None:
    if not created and getattr(instance, "_qd_password_changed", False):
        instance._qd_password_changed = False
        sessions.revoke_after_password_change(user_id=instance.pk)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(on_logged_out, dispatch_uid="qd-logout-sockets")
    pre_save.connect(remember_old_password, sender=user_model, dispatch_uid="qd-password-old")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid="qd-password-changed")
