"""A replay's progress where the trader looks: the Redis hash ``qd:replay:progress`` (the desk page reads it on
load), a ``replay`` event to the desk's sockets (pushed by the replay at each report) and the command's output
line. Written by :class:`~trading.marketdata.replay.ReplayFeed` every few seconds and once when it ends.

Fields: ``state`` (``running`` / ``finished`` / ``stopped``), ``symbols``, ``interval``, ``bar_time`` (the
replayed bar, UTC ISO), ``bars_done``, ``bars_total``, ``speed`` (simulated seconds per wall second),
``elapsed_s``, ``eta_s`` (None until a bar is done) and ``updated_ms``. A running replay refreshes the key
within ``RUNNING_TTL``; a replay killed without a word therefore vanishes from the desk after that. A finished
one stays ``FINISHED_TTL`` so the trader sees how it ended."""

from __future__ import annotations

import json
from typing import Any

import redis

PROGRESS_KEY = "qd:replay:progress"
RUNNING_TTL = 330  # seconds; reports come every few seconds, or after a desk task (at most 300 s) the replay waits for
FINISHED_TTL = 3600
INTS = ("bars_done", "bars_total", "updated_ms")
FLOATS = ("speed", "elapsed_s", "eta_s")


def progress_info(*, state: str, symbols: list[str], interval: str, bar_time: str, bars_done: int, bars_total: int,
                  elapsed_s: float, bar_seconds: int, now_ms: int) -> dict[str, Any]:
    """The progress record: speed = simulated seconds played per wall second; ETA from that speed."""
    elapsed = max(elapsed_s, 1e-9)
    speed = bars_done * bar_seconds / elapsed
    left = max(0, bars_total - bars_done)
    eta = None if not bars_done else round(left * elapsed / bars_done, 1)
    return {"state": state, "symbols": list(symbols), "interval": interval, "bar_time": bar_time,
            "bars_done": bars_done, "bars_total": bars_total, "speed": round(speed, 1),
            "elapsed_s": round(elapsed_s, 1), "eta_s": eta, "updated_ms": now_ms}


def write_progress(*, client: redis.Redis, info: dict[str, Any]) -> None:
    flat = {k: json.dumps(v) if isinstance(v, list) else "" if v is None else str(v) for k, v in info.items()}
    pipe = client.pipeline()
    pipe.delete(PROGRESS_KEY)
    pipe.hset(PROGRESS_KEY, mapping=flat)
    pipe.expire(PROGRESS_KEY, RUNNING_TTL if info.get("state") == "running" else FINISHED_TTL)
    pipe.execute()


def read_progress(*, client: redis.Redis | None = None) -> dict[str, Any]:
    """The last progress a replay wrote, typed; {} when none ran recently."""
    if client is None:
        from .feed import redis_client

        client = redis_client()
    raw = client.hgetall(PROGRESS_KEY)
    if not raw:
        return {}
    raw = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
           for k, v in raw.items()}
    out: dict[str, Any] = dict(raw)
    for k in INTS:
        if k in raw:
            out[k] = int(raw[k]) if raw[k] != "" else None
    for k in FLOATS:
        if k in raw:
            out[k] = float(raw[k]) if raw[k] != "" else None
    if "symbols" in raw:
        out["symbols"] = json.loads(raw["symbols"] or "[]")
    return out


def progress_line(info: dict[str, Any]) -> str:
    """One plain line for the command's output (no carriage return: it reads the same in a log file)."""
    total = info.get("bars_total") or 0
    pct = f" ({100 * info['bars_done'] / total:.1f} %)" if total else ""
    eta = info.get("eta_s")
    return (f"replay {info['state']}: bar {info.get('bar_time') or '-'}  {info['bars_done']}/{total} bars{pct}  "
            f"{info['speed']:g}x  elapsed {info['elapsed_s']:g} s" + (f"  eta {eta:g} s" if eta is not None else ""))
