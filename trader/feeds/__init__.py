"""Market-data feeds: live exchange adapters, the simulator and the replay, behind one factory.

    from trader.feeds import make_feeds
    feeds = make_feeds("sim", ["binance", "okx"], 5, bus, market, api_stats, seed=1)
    tasks = [asyncio.create_task(f.run()) for f in feeds]

Every feed has ``exchange`` (str) and ``async run()``:
- live (``BinanceFeed``, ``BybitFeed``, ``OkxFeed``) and sim (``SimFeed``) run until cancelled;
- replay (``ReplayFeed``) returns a ``ReplaySummary`` at the end of the recording
  (``str(summary)`` is one line for the CLI).
``SimFeed`` also has the drill hooks ``shock(symbol=None, drop_ratio, over_seconds)``,
``pause(seconds)`` and ``resume()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from trader.api_stats import ApiStats
from trader.bus import EventBus
from trader.feeds.base import Backoff, Feed
from trader.feeds.replay import ReplayFeed, ReplaySummary, detect_exchange
from trader.feeds.sim import SimFeed, sim_symbols
from trader.market import MarketState

__all__ = ["make_feeds", "Feed", "Backoff", "ReplayFeed", "ReplaySummary", "SimFeed", "sim_symbols",
           "EXCHANGES", "KINDS"]

EXCHANGES = ("binance", "bybit", "okx")
KINDS = ("live", "sim", "replay")


def make_feeds(kind: str, exchanges: Sequence[str], symbols: Sequence[str] | int, bus: EventBus,
               market: MarketState, api_stats: ApiStats | None = None, *,
               replay_path: str | Path | Sequence[str | Path] | None = None, speed: float | None = None,
               seed: int = 0, endpoints: Mapping[str, Mapping[str, str]] | None = None,
               updates_per_second: float = 4.0, sim_options: Mapping[str, Any] | None = None) -> list[Feed]:
    """Build the feeds for one run.

    kind: "live" | "sim" | "replay".
    exchanges: for live and sim, which exchanges ("binance", "bybit", "okx"); for replay, ignored
      (each file's exchange is detected; files of one exchange are merged into one feed).
    symbols: internal names ("BTCUSDT"); for sim also an int N = N symbols per exchange
      (BTCUSDT, ETHUSDT, ... then SYM001USDT...).
    endpoints: live only, per exchange base URLs (tests point them at 127.0.0.1):
      binance {"ws_base", "rest_base"}, bybit {"ws_url"}, okx {"ws_url", "rest_base"}.
    speed: replay only; None = as fast as possible, 1.0 = real time, 10 = 10x.
    seed: sim only; exchange i uses seed + i.
    """
    if kind not in KINDS:
        raise ValueError(f"feed kind {kind!r}: expected one of {', '.join(KINDS)}")
    api_stats = api_stats if api_stats is not None else ApiStats(bus)
    if kind == "replay":
        if not replay_path:
            raise ValueError("feed kind 'replay': expected replay_path (a recording file or a list of them)")
        paths = [replay_path] if isinstance(replay_path, (str, Path)) else list(replay_path)
        by_exchange: dict[str, list[Path]] = {}
        for p in paths:
            p = Path(p)
            if not p.is_file():
                raise FileNotFoundError(f"replay_path {str(p)!r}: no such file")
            by_exchange.setdefault(detect_exchange(p), []).append(p)
        return [ReplayFeed(ps, bus, market, speed=speed, exchange=ex) for ex, ps in by_exchange.items()]

    for ex in exchanges:
        if ex not in EXCHANGES:
            raise ValueError(f"exchange {ex!r}: expected one of {', '.join(EXCHANGES)}")
    if not exchanges:
        raise ValueError(f"feed kind {kind!r}: expected at least one exchange")
    if kind == "sim":
        names = sim_symbols(symbols) if isinstance(symbols, int) else list(symbols)
        return [SimFeed(ex, names, bus, market, seed=seed + i, updates_per_second=updates_per_second,
                        **dict(sim_options or {}))
                for i, ex in enumerate(exchanges)]

    if isinstance(symbols, int):
        raise ValueError("feed kind 'live': expected symbol names (e.g. ['BTCUSDT']), not a count")
    from trader.feeds.binance import BinanceFeed, BinanceHandler
    from trader.feeds.bybit import BybitFeed, BybitHandler
    from trader.feeds.okx import OkxFeed, OkxHandler

    endpoints = endpoints or {}
    feeds: list[Feed] = []
    for ex in exchanges:
        urls = dict(endpoints.get(ex, {}))
        if ex == "binance":
            feeds.append(BinanceFeed(BinanceHandler(bus, market), list(symbols), api_stats, **urls))
        elif ex == "bybit":
            feeds.append(BybitFeed(BybitHandler(bus, market), list(symbols), api_stats, **urls))
        else:
            feeds.append(OkxFeed(OkxHandler(bus, market), list(symbols), api_stats, **urls))
    return feeds
