"""The whole trading core on a max-speed replay (issue 3), beside the parse + book + bus baseline.

Target: the full engine (feed parsing, order book, bus, anomaly detector, both strategies, the
paper broker and the portfolio) replays the real Binance BTCUSDT recording at >= 50,000 messages
per second on one core; this is the figure ``python -m trader --replay FILE --speed max`` prints
in its summary line. The baseline (``replay_throughput.py``: parsing + book + bus with a trivial
subscriber) is measured on the same file in the same run, so the engine's own cost reads as the
gap between the two. Runs alternate between the two so that a noisy neighbour hurts both alike;
prints every run, then the best and the median of each. Beside the wall-clock rate (the CLI's
figure) each run shows the rate per CPU second of this process: when the two differ, another
process took the core; when both drop, the host itself ran slower (shared machines do).

The engine also runs with its journal (trader/journal/, in a fresh temporary state dir each
run): the journal's writer must stay off the market-data path, so the two engine figures should
be within noise of each other.

    /tmp/venv0/bin/python benchmarks/replay_engine.py [recording] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark, for its baseline

from replay_throughput import DEFAULT, run_once as run_baseline  # noqa: E402
from trader.cli import build_config, build_parser  # noqa: E402
from trader.engine import Trader  # noqa: E402
from trader.journal import open_journal  # noqa: E402
from stacklog import configure_logging  # noqa: E402

TARGET_MSG_PER_S = 50_000  # issue 3: the full engine at --speed max, one core


def run_engine(path: Path, journal_dir: str | None = None) -> tuple[int, float, int]:
    """One replay through the Trader the CLI builds for ``--replay path --speed max`` (the metrics
    server aside), journalled in ``journal_dir`` if given; returns (messages, seconds, orders submitted)."""
    flags = ["--replay", str(path), "--speed", "max"] + (["--state-dir", journal_dir] if journal_dir else [])
    config = build_config(build_parser().parse_args(flags))
    journal = open_journal(config.state_dir(), feed_kind=config.feed.kind) if journal_dir else None
    trader = Trader(config, journal=journal)
    (summary,) = asyncio.run(trader.run())
    if journal is not None:
        journal.close()
    assert summary.rejected == 0 and summary.sequence_gaps == 0, str(summary)
    orders = sum(n for key, n in trader.accounts[0].account.orders.items() if key[3] == "submitted")
    return summary.messages, summary.seconds, orders


def _cpu_rate(run, path: Path) -> tuple[tuple, float]:
    """``run(path)``'s result and its messages per CPU second of this process."""
    start = time.process_time()
    result = run(path)
    return result, result[0] / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # As the CLI at max speed: JSON logs, no per-order lines (only the replay's start and end
    # would log, and they are not what is measured).
    configure_logging("WARNING")
    engine: list[float] = []
    baseline: list[float] = []
    engine_cpu: list[float] = []
    baseline_cpu: list[float] = []
    journalled: list[float] = []
    journalled_cpu: list[float] = []
    for i in range(args.repeat):
        (messages, seconds), cpu = _cpu_rate(run_baseline, args.path)
        baseline.append(messages / seconds)
        baseline_cpu.append(cpu)
        print(f"  run {i + 1}: baseline {baseline[-1]:,.0f} msg/s ({messages} messages in {seconds:.2f} s; "
              f"{cpu:,.0f} per CPU second)")
        (messages, seconds, orders), cpu = _cpu_rate(run_engine, args.path)
        engine.append(messages / seconds)
        engine_cpu.append(cpu)
        print(f"  run {i + 1}: engine   {engine[-1]:,.0f} msg/s ({messages} messages in {seconds:.2f} s; "
              f"{cpu:,.0f} per CPU second; {orders} orders)")
        with tempfile.TemporaryDirectory() as state:
            (messages, seconds, orders), cpu = _cpu_rate(lambda p: run_engine(p, state), args.path)
        journalled.append(messages / seconds)
        journalled_cpu.append(cpu)
        print(f"  run {i + 1}: engine + journal {journalled[-1]:,.0f} msg/s ({messages} messages in {seconds:.2f} s; "
              f"{cpu:,.0f} per CPU second; {orders} orders)")
    best = max(engine)
    print(f"parse + book + bus (baseline): best {max(baseline):,.0f} msg/s, median {statistics.median(baseline):,.0f} "
          f"(per CPU second: best {max(baseline_cpu):,.0f}, median {statistics.median(baseline_cpu):,.0f})")
    print(f"full engine replay at max speed: best {best:,.0f} msg/s, median {statistics.median(engine):,.0f} "
          f"(per CPU second: best {max(engine_cpu):,.0f}, median {statistics.median(engine_cpu):,.0f}); "
          f"best is {best / max(baseline):.0%} of the baseline's best")
    print(f"full engine with its journal: best {max(journalled):,.0f} msg/s, median {statistics.median(journalled):,.0f} "
          f"(per CPU second: best {max(journalled_cpu):,.0f}, median {statistics.median(journalled_cpu):,.0f}); "
          f"best is {max(journalled) / best:.0%} of the engine's best without "
          f"({max(journalled_cpu) / max(engine_cpu):.0%} per CPU second)")
    verdict = "OK" if best >= TARGET_MSG_PER_S else "BELOW TARGET"
    print(f"target: full engine >= {TARGET_MSG_PER_S:,} msg/s on one core (best of {args.repeat}): {verdict}")


if __name__ == "__main__":
    main()
