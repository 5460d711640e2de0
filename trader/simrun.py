"""``python -m trader ... --openmetrics-out FILE``: a whole run on simulated time, its metrics to a file.

The run is at max speed on ``trader.simclock``: a replay's clock is the recording's receive
times; a sim run (with a drill, if any) starts now and lasts ``--run-for``. Every
``--sample-interval`` of that time the metrics are taken as a scrape would show them and
written at the end to FILE (OpenMetrics with timestamps, for ``promtool tsdb
create-blocks-from openmetrics``). No metrics port is opened. The writer comes from
``start_backfill(trader, path, interval)``, given by ``trader/__main__.py`` (the core does not
import the exporters).

    python -m trader --replay REC.jsonl.gz --openmetrics-out m.om --sample-interval 5s
    python -m trader --feed sim --drill crash --run-for 8m --openmetrics-out m.om
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from typing import Callable

from stacklog import configure_logging

from .config import Config, ConfigError
from .engine import Trader
from .simclock import SimulatedClock, simulated_loop

__all__ = ["add_arguments", "check", "run", "StartBackfill"]

_log = logging.getLogger("trader")
StartBackfill = Callable[[Trader, str, float], object]  # -> .run() coroutine, .write() -> path
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        number = text.rstrip("smhd")
        try:
            value = float(number) * _DURATION_UNITS[text[len(number):] or "s"]
        except (KeyError, ValueError):
            value = -1.0
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{flag} = {text!r}: expected a duration > 0 such as 5s, 10m, 1h")
        return value
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--openmetrics-out", metavar="FILE",
                        help="replay or sim feed only: run on simulated time at max speed and write the metrics "
                             "of every --sample-interval to FILE (OpenMetrics with timestamps, for "
                             "`promtool tsdb create-blocks-from openmetrics`); no metrics port")
    parser.add_argument("--sample-interval", type=_duration("--sample-interval"), default=5.0, metavar="DURATION",
                        help="with --openmetrics-out: simulated time between two samples (default 5s, the scrape interval)")
    parser.add_argument("--run-for", type=_duration("--run-for"), metavar="DURATION",
                        help="with --openmetrics-out: stop after this much simulated time (needed with --feed sim)")


def check(args: argparse.Namespace, config: Config) -> None:
    """A feed that can run on simulated time, and an end; raises ConfigError."""
    if args.openmetrics_out is None:
        if args.run_for is not None:
            raise ConfigError(f"config: --run-for = {args.run_for:g}s: expected --openmetrics-out with it")
        return
    if config.feed.kind not in ("replay", "sim"):
        raise ConfigError(f"config: --openmetrics-out with --feed {config.feed.kind}: expected --replay FILE or "
                          "--feed sim (live data cannot run on simulated time)")
    if getattr(args, "speed", None) is not None:
        raise ConfigError(f"config: --speed = {args.speed:g}: expected max or nothing with --openmetrics-out "
                          "(simulated time runs as fast as it can)")
    if config.feed.kind == "sim" and args.run_for is None:
        raise ConfigError("config: --openmetrics-out with --feed sim: expected --run-for DURATION "
                          "(a simulated feed never ends by itself)")


def _start(config: Config) -> float:
    """Where the simulated clock starts: a replay's first receive time, else now (whole seconds)."""
    if config.feed.kind == "replay":
        from .feeds.replay import first_receive_time

        paths = config.feed.replay_path
        return first_receive_time([paths] if isinstance(paths, str) else list(paths))
    return float(int(time.time()))


async def _simulate(trader: Trader, writer, run_for: float | None) -> int:
    """Run ``trader`` on the simulated loop with ``writer`` sampling beside it; write at the end."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, trader.stop)
    sampler = asyncio.create_task(writer.run(), name="openmetrics-backfill")
    if run_for is not None:
        loop.call_later(run_for, trader.stop)
    started, wall = trader.clock(), time.monotonic()
    try:
        await trader.run()
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    path = writer.write()
    _log.info("openmetrics written", extra={
        "path": str(path), "samples": writer.samples, "simulated_seconds": round(trader.clock() - started, 3),
        "seconds": round(time.monotonic() - wall, 3)})
    return 0


def run(args: argparse.Namespace, config: Config, start_backfill: StartBackfill | None) -> int:
    """The exit code: 0 when written, 2 for a config the run cannot start with (one line)."""
    configure_logging(config.log_level)
    logging.getLogger("trader.broker").setLevel(logging.WARNING)  # every order at max speed: too many lines
    logging.getLogger("trader.strategy").setLevel(logging.WARNING)
    if start_backfill is None:
        print("config: --openmetrics-out: no metrics writer wired in (run `python -m trader`)", file=sys.stderr)
        return 2
    try:
        clock = SimulatedClock(_start(config))
        trader = Trader(config, drill=args.drill, clock=clock)
        for feed in trader.feeds:
            feed.use_simulated_time(clock)
        writer = start_backfill(trader, args.openmetrics_out, args.sample_interval)
    except (ConfigError, ValueError, OSError) as error:
        print(f"config: {error}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=lambda: simulated_loop(clock)) as runner:
        return runner.run(_simulate(trader, writer, args.run_for))
