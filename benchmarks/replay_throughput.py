"""Replay throughput: the real Binance BTCUSDT recording through parsing + book + bus, at max speed.

Target: >= 50,000 messages per second on one core (the live feeds see a few hundred per second per
symbol; the headroom is for replays and many symbols). Prints the figure and the target.

    python benchmarks/replay_throughput.py [recording] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from trader import events
from trader.bus import EventBus
from trader.feeds.replay import ReplayFeed
from trader.market import MarketState

TARGET_MSG_PER_S = 50_000
# shared/ sits beside the repository checkout.
DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-usdm-btcusdt-20240808.jsonl.gz"


def run_once(path: Path) -> tuple[int, float]:
    bus, market = EventBus(), MarketState()
    received = [0]

    def subscriber(event) -> None:  # trivial: what any subscriber costs at least
        received[0] += 1

    for event_type in (events.Trade, events.Quote, events.DepthUpdate, events.MarkPrice):
        bus.subscribe(event_type, subscriber)
    feed = ReplayFeed(path, bus, market, speed=None)
    start = time.perf_counter()
    summary = asyncio.run(feed.run())
    elapsed = time.perf_counter() - start
    assert summary.rejected == 0 and summary.sequence_gaps == 0, str(summary)
    assert received[0] > 0
    return summary.messages, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    best = None
    for _ in range(args.repeat):
        messages, elapsed = run_once(args.path)
        rate = messages / elapsed
        best = rate if best is None else max(best, rate)
        print(f"  run: {messages} messages in {elapsed:.2f} s = {rate:,.0f} msg/s")
    verdict = "OK" if best >= TARGET_MSG_PER_S else "BELOW TARGET"
    print(f"replay throughput (best of {args.repeat}): {best:,.0f} msg/s; target >= {TARGET_MSG_PER_S:,} msg/s: {verdict}")


if __name__ == "__main__":
    main()
