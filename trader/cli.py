"""The command line of ``python -m trader``: flags, config, logging, signals, the run.

``main(argv, start_exporters, start_backfill)`` returns the exit code: 0 after a clean stop
(SIGTERM/SIGINT) or the end of a replay, 2 for a bad flag or config value, or a journal that
cannot be used (one line on stderr naming it), 1 when the metrics port cannot be opened.
``python -m trader resume --state-dir DIR --account NAME [--yes]`` lifts a stopped trader's
halt (trader/journal/resume_command.py). ``start_exporters(trader, host, port)`` and
``start_backfill(trader, path, interval)`` (``--openmetrics-out``, ``trader/simrun.py``) are given
by ``trader/__main__.py``, the one place that wires the core to the exporters.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import logging
import os
import signal
import sys
import time
from typing import Callable, NoReturn, Sequence

from stacklog import configure_logging

from .accounts.environment import environment_accounts
from .accounts.errors import KeyRefused
from .config import (DEFAULT_STATE_DIR, DEFAULT_SYMBOLS, Config, ConfigError, check_trader_name, load_config,
                     with_accounts, with_overrides)
from .drills import DRILLS
from .engine import Trader
from .exchanges import titles
from .feeds.sim import sim_symbols
from .journal import JournalError, open_journal, resume_command
from . import simrun
from .vocabulary import EXCHANGES, FEED_KINDS

__all__ = ["build_parser", "build_resume_parser", "build_config", "main"]

_log = logging.getLogger("trader")
StartExporters = Callable[[Trader, str, int], object]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed = {text!r}: expected a number > 0 or 'max'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--speed = {text!r}: expected a number > 0 or 'max'")
    return value


def _symbols(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--symbols = {text!r}: expected a whole number >= 1")
    return value


def _exchanges(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in EXCHANGES]
    if not names or bad or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"--exchanges = {text!r}: expected a comma-separated list of distinct names from {','.join(EXCHANGES)}")
    return names


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"--metrics-port = {text!r}: expected a port number from 0 to 65535")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"--drill-delay = {text!r}: expected a number of seconds >= 0")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed = {text!r}: expected an integer") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m trader",
        description="Paper-trade crypto USDT-margined perpetuals on live, simulated or recorded market data, "
                    "serving Prometheus metrics. With no arguments: live public Binance data for "
                    f"{', '.join(DEFAULT_SYMBOLS[:3])}, one paper account 'main' of 10,000 USDT.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="YAML configuration (accounts, strategies, limits, paper broker); "
                             "see trader/config.example.yml. Flags below override its feed and metrics keys.")
    parser.add_argument("--name", metavar="NAME",
                        help="this trader's name (config key `name`, default 'trader'): the `trader` label of its "
                             "series and alerts, so several traders share one Prometheus; a-z, 0-9, _ . -")
    parser.add_argument("--feed", choices=FEED_KINDS,
                        help="market data: live public WebSockets (default), a seeded simulation, "
                             "or a recording given with --replay")
    parser.add_argument("--replay", metavar="FILE",
                        help="recorded exchange messages to replay (implies --feed replay), e.g. "
                             "../shared/data/binance-usdm-btcusdt-20240808.jsonl.gz")
    parser.add_argument("--speed", type=_speed, default=argparse.SUPPRESS, metavar="N|max",
                        help="replay pace: N times the recording's speed, or 'max' (as fast as possible; "
                             "prints one summary line and exits 0). Default 1")
    parser.add_argument("--symbols", type=_symbols, metavar="N",
                        help=f"live/replay: trade the N most liquid of {','.join(DEFAULT_SYMBOLS)}; "
                             "sim: N symbols per simulated exchange, synthetic ones (SYM001USDT...) past those (default 3)")
    parser.add_argument("--exchanges", type=_exchanges, metavar="LIST",
                        help=f"comma-separated exchanges, from {','.join(EXCHANGES)} (default binance)")
    parser.add_argument("--drill", choices=DRILLS,
                        help="sim feed only: after --drill-delay seconds, make a failure happen for 3 minutes "
                             "(crash: prices -35%% with a leveraged long; feed-outage: market data stops; "
                             "api-errors: 40%% of order requests fail; latency: order round trips over 1 s; "
                             "strategy-stall: the strategies stop evaluating while market data flows)")
    parser.add_argument("--drill-delay", type=_seconds, metavar="SECONDS",
                        help="healthy run before the drill starts (default 60)")
    parser.add_argument("--metrics-port", type=_port, metavar="N",
                        help="port of /metrics, /healthz and /readyz (default 8000)")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper,
                        help="JSON log lines on stdout at this level and above (default INFO)")
    parser.add_argument("--seed", type=_seed, help="seed of the sim feed and the paper broker's randomness (default 0)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="the journal's directory (docs/journal.md): balance, positions, halts and history "
                             "survive a restart there (default ./state; a replay or a drill keeps no journal "
                             "unless given one)")
    parser.add_argument("--watch-only", action="store_true",
                        help="watch exchange accounts only: no paper account, so nothing ever places an order "
                             "(needs an exchange account: exchange_accounts in --config, or BINANCE_API_KEY and "
                             "BINANCE_API_SECRET, BYBIT_..., OKX_... with OKX_API_PASSPHRASE in the environment)")
    simrun.add_arguments(parser)  # --openmetrics-out, --sample-interval, --run-for
    return parser


def build_resume_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m trader resume",
        description="Lift the risk halt of an account of a stopped trader: logged (with your OS user) and "
                    "recorded in the journal's actions. A drawdown halt restarts the drawdown from the last "
                    "equity. Refused while a trader runs on the state dir.")
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, metavar="DIR",
                        help=f"the stopped trader's journal directory (default ./{DEFAULT_STATE_DIR})")
    parser.add_argument("--account", required=True, metavar="NAME", help="the halted account")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def build_config(args: argparse.Namespace) -> Config:
    """The config file's values with the flags on top; raises ConfigError."""
    config = load_config(args.config)
    feed: dict[str, object] = {}
    if args.replay is not None:
        feed["replay_path"] = args.replay
        feed["kind"] = args.feed or "replay"
    if args.feed is not None:
        feed["kind"] = args.feed
    if hasattr(args, "speed"):
        feed["speed"] = args.speed
    if args.symbols is not None:
        kind = feed.get("kind", config.feed.kind)
        if kind == "sim":
            feed["symbols"] = tuple(sim_symbols(args.symbols))  # the liquid names, then SYM001USDT...
        elif args.symbols <= len(DEFAULT_SYMBOLS):
            feed["symbols"] = DEFAULT_SYMBOLS[: args.symbols]
        else:
            raise ConfigError(f"config: --symbols = {args.symbols}: expected at most {len(DEFAULT_SYMBOLS)} with "
                              f"--feed {kind} (the liquid symbols {','.join(DEFAULT_SYMBOLS)}); any number with --feed sim")
    if args.exchanges is not None:
        feed["exchanges"] = args.exchanges
    if args.seed is not None:
        feed["seed"] = args.seed
    if feed.get("kind", config.feed.kind) == "replay" and args.exchanges is None:
        # A recording holds one exchange's messages: trade that exchange unless told otherwise.
        path = feed.get("replay_path", config.feed.replay_path)
        if path:
            feed["exchanges"] = (_recorded_exchange(str(path)),)
    config = with_overrides(config, **feed)
    # Exchange accounts from the environment (compose's .env): BINANCE_API_KEY + BINANCE_API_SECRET...
    from_environment = environment_accounts(os.environ, [a.name for a in config.exchange_accounts])
    if from_environment:
        config = with_accounts(config, exchange_accounts=config.exchange_accounts + from_environment)
    if args.watch_only:
        if not config.exchange_accounts:
            raise ConfigError("config: --watch-only: expected an exchange account to watch (exchange_accounts in "
                              "--config, or BINANCE_API_KEY and BINANCE_API_SECRET, BYBIT_... or OKX_... in the environment)")
        config = with_accounts(config, accounts=())
    if args.drill is not None and not config.accounts:
        raise ConfigError(f"config: --drill = {args.drill!r}: expected a paper account (drills trade on one)")
    if args.drill is not None and config.feed.kind != "sim":
        raise ConfigError(f"config: --drill = {args.drill!r}: expected --feed sim (drills run on the simulated feed only)")
    if args.drill_delay is not None:
        config = dataclasses.replace(config, drill=dataclasses.replace(config.drill, delay_seconds=args.drill_delay))
    if args.name is not None:
        config = dataclasses.replace(config, name=check_trader_name(args.name, "--name"))
    if args.metrics_port is not None:
        config = dataclasses.replace(config, metrics=dataclasses.replace(config.metrics, port=args.metrics_port))
    if args.log_level is not None:
        config = dataclasses.replace(config, log_level=args.log_level)
    if args.state_dir is not None:
        if not args.state_dir.strip():
            raise ConfigError("config: --state-dir = '': expected a directory")
        config = dataclasses.replace(config, journal=dataclasses.replace(config.journal, state_dir=args.state_dir))
    return config


def _recorded_exchange(path: str) -> str:
    from .feeds.replay import detect_exchange

    try:
        return detect_exchange(path)
    except OSError as error:
        raise ConfigError(f"config: --replay = {path!r}: expected a readable recording ({error.strerror})") from None
    except ValueError:
        raise ConfigError(f"config: --replay = {path!r}: expected {titles()} messages") from None


async def _maybe_await(value: object) -> object:
    return await value if inspect.isawaitable(value) else value


async def _serve(trader: Trader, config: Config, start_exporters: StartExporters | None) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, trader.stop)
    try:
        await trader.verify_accounts()
    except KeyRefused as refused:  # a key that can withdraw: one line, nothing served or watched, exit 2
        print(refused, file=sys.stderr)
        for watcher in trader.watchers:
            await watcher.api.close()
        return 2
    server = None
    if start_exporters is not None:
        try:
            server = await _maybe_await(start_exporters(trader, config.metrics.host, config.metrics.port))
        except OSError as error:
            _log.error("cannot serve metrics", extra={"port": config.metrics.port, "error": str(error)})
            return 1
    started = time.monotonic()
    try:
        results = await trader.run()
    finally:
        if server is not None and hasattr(server, "close"):
            await _maybe_await(server.close())
    if config.feed.kind == "replay":
        summaries = [r for r in results if hasattr(r, "messages")]
        _log.info("; ".join(str(s) for s in summaries) or "replay ended", extra={
            "messages": sum(s.messages for s in summaries), "rejected": sum(s.rejected for s in summaries),
            "seconds": round(time.monotonic() - started, 3)})
    return 0


def _trader_name(config: Config) -> str:
    """The trader's name for the journal's meta: config key ``name`` or ``--name``."""
    return config.name


def main(argv: Sequence[str] | None = None, start_exporters: StartExporters | None = None,
         start_backfill: simrun.StartBackfill | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["resume"]:
        resume = build_resume_parser().parse_args(argv[1:])
        return resume_command.run(resume.state_dir, resume.account, confirmed=resume.yes)
    args = build_parser().parse_args(argv)
    try:
        config = build_config(args)
        simrun.check(args, config)
        if args.openmetrics_out is not None and args.state_dir is not None:
            raise ConfigError(f"config: --state-dir = {args.state_dir!r}: expected no journal with --openmetrics-out "
                              "(a run on simulated time is not the account's history)")
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if args.openmetrics_out is not None:
        return simrun.run(args, config, start_backfill)
    journal = None
    state_dir = config.state_dir(args.drill)
    if state_dir is not None:  # before anything starts: an unusable journal is one line, exit 2
        try:
            journal = open_journal(state_dir, feed_kind=config.feed.kind, trader_name=_trader_name(config))
        except JournalError as error:
            print(error, file=sys.stderr)
            return 2
    configure_logging(config.log_level)
    # Replays at max speed would log every order; their one summary line is what matters.
    if config.feed.kind == "replay" and config.feed.speed is None:
        logging.getLogger("trader.broker").setLevel(logging.WARNING)
        logging.getLogger("trader.strategy").setLevel(logging.WARNING)
    _log.info("config loaded", extra={
        "config": args.config, "trader": config.name, "feed": config.feed.kind, "exchanges": ",".join(config.feed.exchanges),
        "symbols": ",".join(config.feed.symbols), "accounts": ",".join(a.name for a in config.accounts),
        "exchange_accounts": ",".join(f"{a.name}:{a.exchange}" for a in config.exchange_accounts),
        "metrics_port": config.metrics.port, "drill": args.drill, "state_dir": state_dir})
    try:
        trader = Trader(config, drill=args.drill, journal=journal)
    # ConfigError: a setting only the feeds can check (a recording, a symbol); JournalError: the
    # journal holds the account as another kind. Anything else is a bug.
    except (ConfigError, JournalError) as error:
        print(error, file=sys.stderr)
        if journal is not None:
            journal.close()
        return 2
    try:
        return asyncio.run(_serve(trader, config, start_exporters))
    except KeyboardInterrupt:  # a second Ctrl-C before the loop's handler was installed
        return 0
    finally:
        if journal is not None:
            journal.close()
