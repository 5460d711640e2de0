"""The trading core's own cost: a max-speed replay with both strategies and the paper broker
trading, and what ``Trader.snapshot()`` and one risk sample cost.

Targets: the replay with trading on keeps >= 50,000 messages per second (issue 3; a live symbol
sends a few hundred; ``replay_engine.py`` measures the same beside the parse + book + bus
baseline, best and median of several runs); ``snapshot()`` under 1 ms and one risk sample of a
full 30-day window under 100 ms, per account (the sampler runs every 10 s). Prints the figures
beside the targets.

    /tmp/venv0/bin/python benchmarks/trading_core.py [recording]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import numpy as np

from trader.config import load_config_text
from trader.engine import Trader
from trader.feeds.replay import ReplayFeed

TARGET_MSG_PER_S = 50_000  # issue 3, as benchmarks/replay_engine.py
TARGET_SNAPSHOT_MS = 1.0
TARGET_SAMPLE_MS = 100.0  # every 10 s: 1 % of a core at most
# shared/ sits beside the repository checkout.
DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-usdm-btcusdt-20240808.jsonl.gz"


CONFIG = "feed: {kind: sim, symbols: [BTCUSDT, ETHUSDT]}"
# The baseline of the same run: the same trader and replay with an account that has no strategy
# (no signals, no orders), so trading's own cost reads as the gap between the two rates.
NO_TRADING = CONFIG + "\naccounts: [{name: main, strategies: []}]"


def replay(path: Path, config_text: str) -> tuple[Trader, float, int]:
    trader = Trader(load_config_text(config_text), feeds=[])
    trader.feeds = [ReplayFeed([path], trader.bus, trader.market, speed=None)]
    start = time.perf_counter()
    (summary,) = asyncio.run(trader.run())
    seconds = time.perf_counter() - start
    orders = sum(n for k, n in trader.snapshot().accounts[0].orders.items() if k[3] == "submitted")
    return trader, summary.messages / seconds, orders


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    _, baseline, _ = replay(path, NO_TRADING)
    trader, rate, orders = replay(path, CONFIG)
    print(f"replay with trading: {rate:,.0f} msg/s ({orders} orders) target >= {TARGET_MSG_PER_S:,}; "
          f"baseline without strategies {baseline:,.0f} msg/s (trading costs {1 - rate / baseline:.0%})")

    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        trader.snapshot()
    print(f"snapshot(): {(time.perf_counter() - start) / n * 1e3:.3f} ms target < {TARGET_SNAPSHOT_MS}")

    account = trader.accounts[0].account
    rng = np.random.default_rng(0)
    for value in 10_000 * np.cumprod(1 + rng.normal(0, 1e-4, 259_200)):  # 30 days of 10-s samples
        account._equity_samples.append(float(value))
    start = time.perf_counter()
    account.sample(time.time())
    print(f"risk sample, full 30-day window: {(time.perf_counter() - start) * 1e3:.1f} ms target < {TARGET_SAMPLE_MS}")


if __name__ == "__main__":
    main()
