"""The desk clock follows a replay's simulated time while the replay refreshes it, the wall clock otherwise."""

import time

from trading.marketdata.clock import clear_replay_time, desk_now, desk_now_ms, set_replay_time


def test_replay_time_wins_then_wall_clock_returns():
    set_replay_time(ms=1_760_130_000_000)  # 2025-10-10 21:00 UTC
    assert desk_now_ms() == 1_760_130_000_000
    assert desk_now().isoformat() == "2025-10-10T21:00:00+00:00"
    clear_replay_time()
    before = int(time.time() * 1000)
    assert before - 1000 <= desk_now_ms() <= int(time.time() * 1000) + 1000
