"""Does the trader grow over time? RSS, CPU and open files of a long sim run, scraped every 5 s.

    .venv/bin/python benchmarks/soak.py [--minutes 30] [--symbols 50] [--exchanges binance,bybit,okx]

Starts ``python -m trader`` as a user does (a separate process: the sim feed, 50 markets on each
of 3 exchanges by default, a journal in a temporary state directory), scrapes ``/metrics`` every
5 s as Prometheus would, and reads the process' RSS, CPU time and open file descriptors every
minute. It prints one line per minute, then the growth after the warm-up (5 minutes, or a sixth
of a shorter run, said so), per hour, and for the second half alone: a leak grows in both halves,
a cache that fills up grows only in the first. Scrape durations and body size come last.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
SCRAPE_EVERY = 5.0  # seconds: the stack's scrape interval for the trader
SAMPLE_EVERY = 60.0  # seconds between RSS/CPU/fd readings
WARM_UP = 300.0  # seconds ignored before growth is measured


@dataclass(frozen=True)
class Reading:
    elapsed: float
    rss_bytes: int
    cpu_seconds: float
    open_fds: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    body = urllib.request.urlopen(url, timeout=10).read()
    return time.perf_counter() - started, len(body)


def wait_ready(url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"soak: the trader exited with code {process.returncode} before serving {url}")
        try:
            scrape(url)
            return
        except OSError:
            time.sleep(0.2)  # polling a server that is starting, not synchronising a test
    raise SystemExit(f"soak: the trader did not serve {url} within 60 s")


def read(process: psutil.Process, started: float) -> Reading:
    with process.oneshot():
        cpu = process.cpu_times()
        return Reading(time.monotonic() - started, process.memory_info().rss,
                       cpu.user + cpu.system, process.num_fds())


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def growth(first: Reading, last: Reading) -> str:
    hours = (last.elapsed - first.elapsed) / 3600
    delta = last.rss_bytes - first.rss_bytes
    per_hour = delta / hours if hours > 0 else 0.0
    return (f"RSS {mib(first.rss_bytes)} -> {mib(last.rss_bytes)} ({delta / 2**20:+.1f} MiB, "
            f"{per_hour / 2**20:+.1f} MiB/h), fds {first.open_fds} -> {last.open_fds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--exchanges", default="binance,bybit,okx")
    args = parser.parse_args()
    if args.minutes < 2:
        parser.error("--minutes must be at least 2 (one reading a minute)")
    duration = args.minutes * 60
    warm_up = min(WARM_UP, duration / 6)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with tempfile.TemporaryDirectory(prefix="soak-") as state_dir:
        command = [sys.executable, "-m", "trader", "--feed", "sim", "--symbols", str(args.symbols),
                   "--exchanges", args.exchanges, "--metrics-port", str(port), "--state-dir", state_dir]
        trader = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(url, trader, time.monotonic() + 60)
            process = psutil.Process(trader.pid)
            started = time.monotonic()
            readings = [read(process, started)]
            scrapes: list[float] = []
            body_bytes = 0
            failures = 0
            markets = args.symbols * len(args.exchanges.split(","))
            print(f"soak: trader pid {trader.pid}, {markets} markets, scrape every {SCRAPE_EVERY:.0f} s, "
                  f"{args.minutes:g} min, warm-up {warm_up / 60:.1f} min"
                  + (" (a sixth of this short run)" if warm_up < WARM_UP else ""))
            print(f"{'min':>5} {'RSS':>10} {'CPU %':>6} {'fds':>4}")
            next_scrape = next_sample = time.monotonic()
            while time.monotonic() - started < duration:
                now = time.monotonic()
                if now >= next_scrape:
                    try:
                        seconds, body_bytes = scrape(url)
                        scrapes.append(seconds)
                    except OSError:
                        failures += 1
                    next_scrape += SCRAPE_EVERY
                if now >= next_sample + SAMPLE_EVERY:
                    next_sample += SAMPLE_EVERY
                    reading = read(process, started)
                    previous = readings[-1]
                    cpu_share = (reading.cpu_seconds - previous.cpu_seconds) / (reading.elapsed - previous.elapsed)
                    readings.append(reading)
                    print(f"{reading.elapsed / 60:5.1f} {mib(reading.rss_bytes):>10} {cpu_share * 100:6.1f} "
                          f"{reading.open_fds:4d}", flush=True)
                time.sleep(max(0.0, min(next_scrape, next_sample + SAMPLE_EVERY) - time.monotonic()))
            readings.append(read(process, started))
        finally:
            trader.terminate()
            trader.wait(timeout=30)
    after_warm_up = [r for r in readings if r.elapsed >= warm_up]
    middle = after_warm_up[len(after_warm_up) // 2]
    last = readings[-1]
    cpu_share = (last.cpu_seconds - readings[0].cpu_seconds) / last.elapsed
    print(f"after warm-up: {growth(after_warm_up[0], last)}")
    print(f"second half:   {growth(middle, last)}")
    print(f"CPU {cpu_share * 100:.1f} % of one core over the run")
    ordered = sorted(scrapes)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"scrapes: {len(scrapes)} ok, {failures} failed; p50 {statistics.median(scrapes) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms; body {body_bytes / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
