"""Encryption at rest of exchange API credentials (Fernet, key from settings.QUANTDESK_FERNET_KEY)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(plaintext: str) -> str:
    """Ciphertext (urlsafe base64 text) of ``plaintext``; empty stays empty."""
    if not plaintext:
        return ""
    return _fernet(settings.QUANTDESK_FERNET_KEY).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Plaintext of a value produced by :func:`encrypt`; raises ValueError if the key does not match."""
    if not ciphertext:
        return ""
    try:
        return _fernet(settings.QUANTDESK_FERNET_KEY).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored API credentials cannot be decrypted with QUANTDESK_FERNET_KEY") from exc


def mask(plaintext: str) -> str:
    """A hint safe to show: the last 4 characters only."""
    return f"****{plaintext[-4:]}" if len(plaintext) >= 8 else "****" if plaintext else ""
