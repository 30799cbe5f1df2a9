"""Scoped throttles: logins and token requests (per client address), and the endpoints that act on the
market or the worker pool (order placing, the kill switch, backtests and sweeps; per user). The client
address is the socket peer unless it is a configured trusted proxy (``trading/api/client_address.py``), so a
forged ``X-Forwarded-For`` cannot reset a counter. Rates default
to the values below and can be changed with the ``QUANTDESK_THROTTLE_RATES`` setting (read at each call)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from trading.api.client_address import client_address

DEFAULT_RATES = {"login": "20/min", "orders": "60/min", "kill_switch": "10/min", "backtests": "30/min"}


def rate_for(scope: str) -> str | None:
    return {**DEFAULT_RATES, **getattr(settings, "QUANTDESK_THROTTLE_RATES", {})}.get(scope)


class DeskScopedThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (view.throttle_scope, per user), with the desk's rates."""

    def get_rate(self):
        return rate_for(self.scope)

    def get_ident(self, request):
        return client_address(request)

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return SimpleRateThrottle.allow_request(self, request, view)


class LoginThrottle(SimpleRateThrottle):
    """Login attempts and token requests per client address."""

    scope = "login"

    def get_rate(self):
        return rate_for(self.scope)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_ident(self, request):
        return client_address(request)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ThrottledStarts:
    """Viewset mixin: starting research work (a backtest, a sweep, a study) shares the per-user ``backtests``
    rate; reading results is not throttled."""

    throttle_classes = [DeskScopedThrottle]

    @property
    def throttle_scope(self):
        return "backtests" if self.action == "create" else None
