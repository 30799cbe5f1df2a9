"""``python -m fakebybit --port N [--key KEY:SECRET ...]``: run the fake exchange standalone until Ctrl-C; every
key is its own account (its own wallet, positions, orders and private stream) on the shared market."""

from __future__ import annotations

import argparse
import threading

from .server import FakeBybit


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="fakebybit", description="Fake Bybit V5 exchange on 127.0.0.1")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8999)
    ap.add_argument("--api-key", default="fake-api-key")
    ap.add_argument("--api-secret", default="fake-api-secret")
    ap.add_argument("--balance", type=float, default=10_000.0)
    ap.add_argument("--key", action="append", default=[], metavar="KEY:SECRET",
                    help="one more API key with its own account (repeatable; same starting balance)")
    ap.add_argument("--btc", type=float, default=65_000.0, help="initial BTCUSDT last price")
    ap.add_argument("--eth", type=float, default=3_500.0, help="initial ETHUSDT last price")
    args = ap.parse_args(argv)
    extra, seen = [], {args.api_key}
    for item in args.key:
        key, sep, secret = item.partition(":")
        if not sep or not key or not secret:
            ap.error(f"--key: expected KEY:SECRET, got {item!r}")
        if key in seen:
            ap.error(f"--key: {key!r} is given twice")
        seen.add(key)
        extra.append((key, secret))
    fake = FakeBybit(args.host, args.port, args.api_key, args.api_secret, args.balance)
    urls = fake.start()
    for key, secret in extra:
        fake.add_key(key, secret)
    fake.set_price("BTCUSDT", args.btc)
    fake.set_price("ETHUSDT", args.eth)
    print(f"fake Bybit V5 on {urls.http}  ws: {urls.ws_public}  {urls.ws_private}  "
          f"key={args.api_key} secret={args.api_secret}"
          + "".join(f"  key={k} secret={s}" for k, s in extra), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
