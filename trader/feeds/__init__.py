"""Market-data feeds: live exchange adapters, the simulator and the replay, behind one factory.

    from trader.feeds import make_feeds
    feeds = make_feeds("sim", ["binance", "okx"], 5, bus, market, api_stats, seed=1)
    tasks = [asyncio.create_task(f.run()) for f in feeds]

Every feed has ``exchange`` (str) and ``async run()``:
- live (each exchange's ``WebSocketFeed``, registered in ``trader/exchanges.py``) and sim
  (``SimFeed``) run until cancelled;
- replay (``ReplayFeed``) returns a ``ReplaySummary`` at the end of the recording
  (``str(summary)`` is one line for the CLI).
``SimFeed`` also has the drill hooks ``shock(symbol=None, drop_ratio, over_seconds)``,
``pause(seconds)`` and ``resume()``.

A setting that cannot work (an unknown exchange, a missing or unreadable recording, a symbol an
exchange cannot trade) raises ``ConfigError`` naming it: one line for the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from trader.api_stats import ApiStats
from trader.bus import EventBus
from trader.config import ConfigError
from trader.exchanges import exchange
from trader.feeds.base import Backoff, Feed
from trader.feeds.replay import ReplayFeed, ReplaySummary, detect_exchange
from trader.feeds.sim import SimFeed, sim_symbols
from trader.market import MarketState
from trader.vocabulary import FEED_KINDS

__all__ = ["make_feeds", "Feed", "Backoff", "ReplayFeed", "ReplaySummary", "SimFeed", "sim_symbols"]


def make_feeds(kind: str, exchanges: Sequence[str], symbols: Sequence[str] | int, bus: EventBus,
               market: MarketState, api_stats: ApiStats | None = None, *,
               replay_path: str | Path | Sequence[str | Path] | None = None, speed: float | None = None,
               seed: int = 0, endpoints: Mapping[str, Mapping[str, str | None]] | None = None,
               updates_per_second: float = 4.0, sim_options: Mapping[str, Any] | None = None) -> list[Feed]:
    """Build the feeds for one run.

    kind: "live" | "sim" | "replay".
    exchanges: for live and sim, which exchanges (names registered in trader/exchanges.py); for
      replay, ignored (each file's exchange is detected; files of one exchange are merged into one feed).
    symbols: internal names ("BTCUSDT"); for sim also an int N = N symbols per exchange
      (BTCUSDT, ETHUSDT, ... then SYM001USDT...).
    endpoints: live only, per exchange, base URLs replacing the registered defaults (tests point
      them at 127.0.0.1), e.g. {"binance": {"ws_base": ..., "rest_base": ...}}.
    speed: replay only; None = as fast as possible, 1.0 = real time, 10 = 10x.
    seed: sim only; exchange i uses seed + i.
    """
    if kind not in FEED_KINDS:
        raise ConfigError(f"config: feed kind {kind!r}: expected one of {', '.join(FEED_KINDS)}")
    api_stats = api_stats if api_stats is not None else ApiStats(bus)
    if kind == "replay":
        return _replay_feeds(replay_path, bus, market, speed)
    if not exchanges:
        raise ConfigError(f"config: feed kind {kind!r}: expected at least one exchange")
    try:
        registered = [exchange(name) for name in exchanges]
    except ValueError as error:
        raise ConfigError(f"config: feed.exchanges: {error}") from None
    if kind == "sim":
        names = sim_symbols(symbols) if isinstance(symbols, int) else list(symbols)
        return [SimFeed(entry.name, names, bus, market, seed=seed + i, updates_per_second=updates_per_second,
                        **dict(sim_options or {}))
                for i, entry in enumerate(registered)]
    if isinstance(symbols, int):
        raise ConfigError("config: feed kind 'live': expected symbol names (e.g. ['BTCUSDT']), not a count")
    feeds: list[Feed] = []
    for entry in registered:
        urls = {**entry.endpoints, **(endpoints or {}).get(entry.name, {})}
        handler = entry.handler_class()(bus, market)
        try:
            feeds.append(entry.feed_class()(handler, list(symbols), api_stats, **urls))
        except ValueError as error:  # a symbol the exchange cannot trade (e.g. not USDT-margined)
            raise ConfigError(f"config: feed.symbols on {entry.name}: {error}") from None
    return feeds


def _replay_feeds(replay_path: str | Path | Sequence[str | Path] | None, bus: EventBus, market: MarketState,
                  speed: float | None) -> list[Feed]:
    """One ReplayFeed per exchange the recordings hold."""
    if not replay_path:
        raise ConfigError("config: feed kind 'replay': expected replay_path (a recording file or a list of them)")
    paths = [replay_path] if isinstance(replay_path, (str, Path)) else list(replay_path)
    by_exchange: dict[str, list[Path]] = {}
    for p in map(Path, paths):
        try:
            by_exchange.setdefault(detect_exchange(p), []).append(p)
        except OSError as error:
            raise ConfigError(f"config: feed.replay_path = {str(p)!r}: expected a readable recording "
                              f"({error.strerror or error})") from None
        except ValueError as error:
            raise ConfigError(f"config: feed.replay_path = {str(p)!r}: {error}") from None
    return [ReplayFeed(ps, bus, market, speed=speed, exchange=ex) for ex, ps in by_exchange.items()]
