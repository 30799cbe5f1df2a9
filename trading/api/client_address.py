"""The client's address for throttles and logs: the socket peer, unless the peer is one of the configured
reverse proxies (``QUANTDESK_TRUSTED_PROXIES``, default none); then ``X-Forwarded-For`` is read from the right,
skipping trusted proxies, and the first address not a trusted proxy is the client. A forged header from an
untrusted peer changes nothing."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(addr, proxies) -> bool:
    return addr is not None and any(addr in net for net in proxies)


def client_address(request) -> str:
    meta = getattr(request, "META", {})
    peer = meta.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "QUANTDESK_TRUSTED_PROXIES", [])
    if not proxies or not _trusted(_ip(peer), proxies):
        return peer
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _ip(hop)
        if addr is None:  # garbage in the header: stop believing it at this hop
            return peer
        if not _trusted(addr, proxies):
            return str(addr)
    return peer
