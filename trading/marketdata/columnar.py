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

A stale file is extended rather than rebuilt when the writes since it was built are all known: each ``bump``
appends (generation, earliest open time written) to the series' stamp file under a file lock (the last
``BUMPS_KEPT``), and each cache file's sidecar says which generation it was built at. The rows from the earliest
time written since then are read again and put after the cached rows before that time; the result must match
the fingerprint (count, first and last time exactly, the sum of closes to the doubles' rounding), else it is
discarded and the series is read whole. So the feed's new bar costs a read of one row, not of the whole series.

The cache directory is ``settings.QUANTDESK_CANDLE_CACHE_DIR`` (default ``var/candle-cache``); None turns the
cache off (the test suite does), and it is off by default for an in-memory SQLite database.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
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


BUMPS_KEPT = 256  # writes remembered per series: a file older than that many writes is rebuilt whole


def _bumps(stem: Path) -> list[list]:
    """The series' remembered writes, oldest first: [generation, earliest open time written (epoch s) or None]."""
    try:
        entries = json.loads(stem.with_suffix(".gen").read_text())
    except (FileNotFoundError, ValueError):
        return []
    return entries if isinstance(entries, list) else []


@contextmanager
def _locked(stem: Path):
    with stem.with_suffix(".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def bump(*, symbol: str, interval: str, since: datetime | None = None) -> None:
    """Mark the cached series stale (called after a write to it has committed); ``since``: the earliest open
    time the write touched (None: unknown, the next read rebuilds the file whole)."""
    directory = cache_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    stem = _stem(directory, symbol, interval)
    with _locked(stem):  # read-append-write: two writers must not drop each other's entry
        entries = _bumps(stem) + [[uuid.uuid4().hex, None if since is None else since.timestamp()]]
        _write_atomic(stem.with_suffix(".gen"), lambda p: p.write_text(json.dumps(entries[-BUMPS_KEPT:])))


def _fingerprint(qs) -> list:
    from django.db.models import Count, Max, Min, Sum

    agg = qs.aggregate(n=Count("open_time"), first=Min("open_time"), last=Max("open_time"), closes=Sum("close"))
    return [agg["n"], agg["first"] and agg["first"].isoformat(), agg["last"] and agg["last"].isoformat(),
            str(agg["closes"])]


def _save(path: Path, rows: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, rows)


def _seconds(iso: str) -> float:
    when = datetime.fromisoformat(iso)
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()  # the database's UTC


def _matches(rows: np.ndarray, fingerprint: list) -> bool:
    """The rows agree with the table's fingerprint: count, first and last open time exactly; the sum of closes
    within what rounding each close to a double can move it (a changed close of any tick is seen)."""
    n, first, last, closes = fingerprint
    if len(rows) != n or n == 0:
        return False
    if rows[0, 0] != _seconds(first) or rows[-1, 0] != _seconds(last):
        return False
    total = float(Decimal(closes))
    slack = 4.5e-16 * float(np.abs(rows[:, 4]).sum()) + 1e-300
    return abs(math.fsum(rows[:, 4]) - total) <= slack


def _extended(directory: Path, stem: Path, entries: list, qs, read_rows, fingerprint: list) -> np.ndarray | None:
    """The newest cache file of the series brought up to date by re-reading only from the earliest time written
    since it was built (module doc), or None when that cannot be trusted."""
    gens = [e[0] for e in entries]
    for old in sorted(directory.glob(f"{stem.name}.*.npy"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            built_at = json.loads(old.with_suffix(".json").read_text())["generation"]
        except (FileNotFoundError, ValueError, KeyError):
            continue
        if built_at in gens:
            pending = entries[gens.index(built_at) + 1:]
        elif built_at == "" and len(entries) < BUMPS_KEPT:
            pending = entries  # built before the first write was remembered, and none forgotten since
        else:
            return None  # older than the writes remembered
        if not pending or any(e[1] is None for e in pending):
            return None  # changed by a path that does not say where (or not by a bump at all)
        since = min(e[1] for e in pending)
        try:
            cached = np.load(old)
        except (ValueError, OSError):
            return None
        head = cached[cached[:, 0] < since]
        tail = read_rows(qs.filter(open_time__gte=datetime.fromtimestamp(since, UTC)).order_by("open_time"))
        rows = np.concatenate([head, tail]) if len(head) else tail
        return rows if _matches(rows, fingerprint) else None
    return None


def series_rows(*, symbol: str, interval: str, read_rows) -> np.ndarray | None:
    """The whole stored trade series as (n, 6) float64 rows, oldest first, from the cache when it is current
    (else read with ``read_rows(queryset)`` and cached). None when the cache is off. The file's name carries
    the hash of what it was built against (generation and fingerprint), so a file is either current or unused."""
    from trading.models import Candle

    directory = cache_dir()
    if directory is None:
        return None
    stem = _stem(directory, symbol, interval)
    entries = _bumps(stem)  # before the rows: see the module doc
    generation = entries[-1][0] if entries else ""
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind="trade")
    fingerprint = _fingerprint(qs)
    meta = json.dumps([generation, fingerprint])
    path = stem.with_name(f"{stem.name}.{hashlib.sha256(meta.encode()).hexdigest()[:20]}.npy")
    try:
        return np.load(path)
    except (FileNotFoundError, ValueError, OSError):
        pass
    directory.mkdir(parents=True, exist_ok=True)
    rows = _extended(directory, stem, entries, qs, read_rows, fingerprint)
    if rows is None:
        rows = read_rows(qs.order_by("open_time"))
    for old in directory.glob(f"{stem.name}.*"):
        if old.suffix in (".npy", ".json"):
            old.unlink(missing_ok=True)
    _write_atomic(path.with_suffix(".json"), lambda p: p.write_text(json.dumps({"generation": generation})))
    _write_atomic(path, lambda p: _save(p, rows))
    return rows
