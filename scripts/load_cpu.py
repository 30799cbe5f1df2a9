"""Keep CPUs busy while the suite runs, to check it stays green on a loaded machine (issue 14: tests that gave a
process 2 s failed on a loaded 2-core box). Starts ``--procs`` processes that spin on pure-Python arithmetic
until ``--seconds`` pass or Ctrl-C / SIGTERM; prints the load average every minute so the log says how loaded
the machine was.

    python scripts/load_cpu.py --procs 2 --seconds 3600 &   # one spinner per core of a 2-core machine
    LOAD=$!
    for i in 1 2 3; do ./desk test < /dev/null > test-run-$i.log 2>&1 || echo "run $i failed"; done
    kill $LOAD
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import time


def spin(stop_at: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    x = 0
    while time.time() < stop_at:
        for i in range(100_000):
            x = (x * 31 + i) % 1_000_003


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 2, help="spinning processes (default: cpus)")
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long (default 1 h)")
    args = parser.parse_args()
    stop_at = time.time() + args.seconds
    procs = [mp.Process(target=spin, args=(stop_at,), daemon=True) for _ in range(args.procs)]
    for p in procs:
        p.start()
    print(f"load_cpu: {args.procs} spinning processes for {args.seconds:g} s (pids "
          f"{', '.join(str(p.pid) for p in procs)})", flush=True)

    def stop(*_):
        for p in procs:
            p.terminate()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while time.time() < stop_at and any(p.is_alive() for p in procs):
        time.sleep(min(60.0, max(0.0, stop_at - time.time())))
        one, five, fifteen = os.getloadavg()
        print(f"load_cpu: load average {one:.2f} {five:.2f} {fifteen:.2f}", flush=True)
    stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
