"""What a /metrics scrape costs the trader: render time per series, and market-event latency.

    /tmp/venv0/bin/python benchmarks/scrape_cost.py [--exchanges 3] [--symbols 50] [--seconds 5]

Runs the real ``Trader`` on the sim feed (50 symbols on each of 3 exchanges by default) in this
process with the real metrics server, then prints, in one run:

1. series count, and render time per series of our ``/metrics`` (capture on the loop + fast
   writer, text and OpenMetrics) against stock ``prometheus_client.generate_latest`` on an
   equivalent registry holding the same series as ready-made metric families (the stock
   writer's cost alone, without even building the families), and against the stock writer over
   our collectors (what a plain custom collector would cost). Target: ours <= 1/3 of the first.
2. p50/p99 market-event handling latency (a sim feed's wake-up -> the last bus handler of the
   event done) without scrapes and with a scrape every second from another process, in
   alternating windows (pooled, and the median of the windows' p99s). Target: p99 with scrapes
   <= 1.2x without.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import generate_latest  # noqa: E402
from prometheus_client.openmetrics.parser import text_string_to_metric_families  # noqa: E402
from prometheus_client.registry import CollectorRegistry  # noqa: E402

from exporters.http import start_metrics_server  # noqa: E402
from exporters.registry import build_registry  # noqa: E402
from trader.config import load_config, with_overrides  # noqa: E402
from trader.engine import Trader  # noqa: E402
from trader.events import DepthUpdate, Quote, Trade  # noqa: E402
from trader.feeds import sim_symbols  # noqa: E402

_SCRAPER = """
import sys, time, urllib.request
url = sys.argv[1]
while True:
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    urllib.request.urlopen(request, timeout=10).read()
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
"""


class _Frozen:
    """A stock collector returning ready-made families: generate_latest's formatting cost alone."""

    def __init__(self, families) -> None:
        self._families = families

    def collect(self):
        return self._families


def _per_series_us(fn, series: int, repeat: int) -> float:
    fn()  # warm caches (ours: the per-series prefixes; theirs: nothing to warm)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) / series * 1e6


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def run(exchanges: int, symbols: int, seconds: float, repeat: int, windows_per_condition: int) -> None:
    names = ("binance", "bybit", "okx")[:exchanges]
    config = with_overrides(load_config(None), kind="sim", exchanges=names, symbols=tuple(sim_symbols(symbols)))
    trader = Trader(config)
    latencies: list[float] = []
    record = latencies.append
    clock = time.time

    def handled(event) -> None:  # subscribed last: runs after every other handler of the event
        record(clock() - event.recv_ts)

    run_task = asyncio.create_task(trader.run())
    server = start_metrics_server(trader, 0, "127.0.0.1")
    for kind in (Quote, Trade, DepthUpdate):
        trader.bus.subscribe(kind, handled)
    await asyncio.sleep(3.0)  # warm up: books, marks, a few orders

    # 1. render cost, measured on this thread while the loop waits (a pure CPU figure)
    registry = build_registry(trader, process_metrics=False)
    frame = registry.capture()
    text = registry.render(frame)
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    om_text = registry.render(frame, openmetrics=True)
    equivalent = CollectorRegistry(auto_describe=False)
    equivalent.register(_Frozen(list(text_string_to_metric_families(om_text))))
    assert sum(1 for line in generate_latest(equivalent).decode().splitlines()
               if line and not line.startswith("#")) == series, "the equivalent registry must hold the same series"
    capture_us = _per_series_us(registry.capture, 1, repeat)
    ours = _per_series_us(lambda: registry.render(registry.capture()), series, repeat)
    ours_om = _per_series_us(lambda: registry.render(registry.capture(), openmetrics=True), series, repeat)
    stock = _per_series_us(lambda: generate_latest(equivalent), series, repeat)
    stock_collectors = _per_series_us(lambda: generate_latest(registry), series, repeat)

    # 2. market-event latency, alternating windows without and with a scrape every second. The
    # host is shared and its noise moves p99 by tens of percent from one window to the next, so
    # conditions alternate and the per-window p99s are compared by their median too.
    windows: dict[str, list[list[float]]] = {"without": [], "with": []}
    url = f"{server.url}/metrics"
    for i in range(2 * windows_per_condition):
        phase = "without" if i % 2 == 0 else "with"
        scraper = subprocess.Popen([sys.executable, "-c", _SCRAPER, url]) if phase == "with" else None
        await asyncio.sleep(0.3)  # let the scraper start before counting
        del latencies[:]
        await asyncio.sleep(seconds)
        windows[phase].append(list(latencies))
        if scraper is not None:
            scraper.terminate()
            scraper.wait(timeout=5)
    trader.stop()
    await run_task
    server.close()

    pooled = {phase: [x for window in ws for x in window] for phase, ws in windows.items()}
    p50_off, p99_off = _quantiles(pooled["without"])
    p50_on, p99_on = _quantiles(pooled["with"])
    window_p99 = {phase: statistics.median(_quantiles(w)[1] for w in ws) for phase, ws in windows.items()}
    print(f"scenario: {symbols} symbols x {exchanges} sim exchanges, one account; series exposed: {series} "
          f"(+ process/GC from prometheus_client)")
    print(f"capture on the loop per scrape:                     {capture_us:8.1f} us")
    print(f"render per series, ours (capture + fast writer, text): {ours:6.3f} us")
    print(f"render per series, ours (OpenMetrics):                 {ours_om:6.3f} us")
    print(f"render per series, stock generate_latest, same series: {stock:6.3f} us  -> ours = {ours / stock:.2f}x "
          f"(target <= 0.33x)")
    print(f"render per series, stock generate_latest over our collectors: {stock_collectors:6.3f} us "
          f"-> ours = {ours / stock_collectors:.2f}x")
    print(f"market-event latency without scrapes: p50 {p50_off * 1e3:7.3f} ms  p99 {p99_off * 1e3:7.3f} ms "
          f"({len(pooled['without'])} events)")
    print(f"market-event latency, scrape every 1 s: p50 {p50_on * 1e3:7.3f} ms  p99 {p99_on * 1e3:7.3f} ms "
          f"({len(pooled['with'])} events) -> p99 ratio {p99_on / p99_off:.2f} (target <= 1.2)")
    print(f"median of per-window p99: without {window_p99['without'] * 1e3:.3f} ms, with "
          f"{window_p99['with'] * 1e3:.3f} ms -> ratio {window_p99['with'] / window_p99['without']:.2f} "
          f"({windows_per_condition} windows of {seconds:g} s each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--symbols", type=int, default=50, help="symbols per exchange")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each latency window")
    parser.add_argument("--windows", type=int, default=10, help="windows of each kind, alternating")
    parser.add_argument("--repeat", type=int, default=30, help="renders timed per figure (median kept)")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)  # the trader's order log lines would cost more than the scrape
    asyncio.run(run(args.exchanges, args.symbols, args.seconds, args.repeat, args.windows))


if __name__ == "__main__":
    main()
