"""A columnar file cache of each stored trade-candle series, for research reads (backtests, sweeps, studies).

``read_range`` of trade candles asks :func:`series_rows` for the whole (symbol, interval) series as one float64
array (epoch seconds, open, high, low, close, volume) and slices the range out of it. The array lives in a
``.npy`` file per database, symbol and interval; loading it costs a few milliseconds where the cursor path pays
a Python tuple per row.

Kept in step with the table two ways, both checked on every read (a stamp file and one indexed aggregate
query; the cache file's name is the hash of both):
- a generation stamp per series, renewed by ``store.upsert_candles`` (the importer's and the feed's only write
  path) after its transaction commits (``bump``). The stamp is read BEFORE the rows, so a write that commits
  while a cache is being built leaves that cache stale-marked, never stale-trusted;
- the series' row count, first and last open time and sum of closes, so rows added or changed by any other
  path (fixtures, the admin) are seen too (short of a change that keeps all four).

The cache directory is ``settings.QUANTDESK_CANDLE_CACHE_DIR`` (default ``var/candle-cache``); None turns the
cache off (the test suite does), and it is off by default for an in-memory SQLite database.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np


def cache_dir() -> Path | None:
    """This database's cache directory, or None when the cache is off."""
    from django.conf import settings
    from django.db import connection

    root = getattr(settings, "QUANTDESK_CANDLE_CACHE_DIR", "default")
    db = connection.settings_dict
    name = str(db.get("NAME") or "")
    if root == "default":
        if connection.vendor == "sqlite" and ("memory" in name or not name):
            return None
        from quantdesk.env import VAR_DIR

        root = VAR_DIR / "candle-cache"
    if root is None:
        return None
    ident = f"{connection.vendor}|{db.get('HOST') or ''}|{db.get('PORT') or ''}|{name}"
    return Path(root) / hashlib.sha256(ident.encode()).hexdigest()[:16]


def _stem(directory: Path, symbol: str, interval: str) -> Path:
    return directory / f"{symbol}_{interval}"


def _generation(stem: Path) -> str:
    try:
        return stem.with_suffix(".gen").read_text()
    except FileNotFoundError:
        return ""


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def bump(*, symbol: str, interval: str) -> None:
    """Mark the cached series stale (called after a write to it has committed)."""
    directory = cache_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(_stem(directory, symbol, interval).with_suffix(".gen"),
                  lambda p: p.write_text(uuid.uuid4().hex))


def _fingerprint(qs) -> list:
    from django.db.models import Count, Max, Min, Sum

    agg = qs.aggregate(n=Count("open_time"), first=Min("open_time"), last=Max("open_time"), closes=Sum("close"))
    return [agg["n"], agg["first"] and agg["first"].isoformat(), agg["last"] and agg["last"].isoformat(),
            str(agg["closes"])]


def _save(path: Path, rows: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, rows)


def series_rows(*, symbol: str, interval: str, read_rows) -> np.ndarray | None:
    """The whole stored trade series as (n, 6) float64 rows, oldest first, from the cache when it is current
    (else read with ``read_rows(queryset)`` and cached). None when the cache is off. The file's name carries
    the hash of what it was built against (generation and fingerprint), so a file is either current or unused."""
    from trading.models import Candle

    directory = cache_dir()
    if directory is None:
        return None
    stem = _stem(directory, symbol, interval)
    generation = _generation(stem)  # before the rows: see the module doc
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind="trade")
    meta = json.dumps([generation, _fingerprint(qs)])
    path = stem.with_name(f"{stem.name}.{hashlib.sha256(meta.encode()).hexdigest()[:20]}.npy")
    try:
        return np.load(path)
    except (FileNotFoundError, ValueError, OSError):
        pass
    rows = read_rows(qs.order_by("open_time"))
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"{stem.name}.*.npy"):
        old.unlink(missing_ok=True)
    _write_atomic(path, lambda p: _save(p, rows))
    return rows
