"""The desk's clock: wall time, or the replay's simulated time while a replay drives the desk.

A replay writes the simulated time it has reached to the Redis key ``qd:clock:replay`` (epoch milliseconds,
with a TTL it refreshes); everything that stamps a signal, fill, decision or price age reads ``desk_now_ms``
/ ``desk_now`` instead of the wall clock, so a replay's records, pages and age checks stay on replayed time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis
from django.conf import settings

REPLAY_CLOCK_KEY = "qd:clock:replay"
REPLAY_CLOCK_TTL = 600  # seconds; a replay that stops refreshing it hands the desk back to the wall clock


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def set_replay_time(*, ms: int, client: redis.Redis | None = None) -> None:
    """Called by the replay as its simulated time advances."""
    (client or _client()).set(REPLAY_CLOCK_KEY, int(ms), ex=REPLAY_CLOCK_TTL)


def clear_replay_time(*, client: redis.Redis | None = None) -> None:
    (client or _client()).delete(REPLAY_CLOCK_KEY)


def replay_time_ms(*, client: redis.Redis | None = None) -> int | None:
    raw = (client or _client()).get(REPLAY_CLOCK_KEY)
    return None if raw is None else int(raw)


def desk_now_ms(*, client: redis.Redis | None = None) -> int:
    """The replay's time while one runs, else the wall clock (epoch ms)."""
    replay = replay_time_ms(client=client)
    return replay if replay is not None else int(time.time() * 1000)


def desk_now(*, client: redis.Redis | None = None) -> datetime:
    return datetime.fromtimestamp(desk_now_ms(client=client) / 1000, tz=UTC)
