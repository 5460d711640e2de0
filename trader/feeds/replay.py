"""Replay recorded exchange messages through the live parsers, at real time, N x, or max speed.

Formats (detected per file; gzip or plain, by the gzip magic bytes):
- hftbacktest (Binance combined stream): ``<local receive time, ns> <raw JSON>`` per line;
- cryptofeed captures: ``<receive epoch seconds>: <raw JSON>`` per line, with connection lines
  (``wss://... <-> <ts>``, ``wss://... <- <ts>: <sent JSON>``) skipped.
The exchange comes from the connection URL or the message shape (each registration in
``trader/exchanges.py`` says how to recognise it: ``stream`` -> binance, ``topic`` -> bybit,
``arg`` -> okx), unless given; the handler is the registered one.

Several files of one exchange (e.g. BTC and ETH recordings) are merged by receive time into one
feed. Events carry the exchange's own timestamps; ``recv_ts`` and ``last_message_ts`` are the
local clock at replay time (so staleness reads as fresh while the replay runs).

On simulated time (``use_simulated_time(clock)``, with the trader on ``trader.simclock``'s loop)
the clock is the recording's: each message waits, in simulated time, for its receive time and
is stamped with it, so every timer of the trader (housekeeping, risk samples, broker latency)
runs between the messages where it would have run live, at max speed.

    feed = ReplayFeed(["data/binance-usdm-btcusdt-20240808.jsonl.gz"], bus, market, speed=None)
    summary = await feed.run()      # ReplaySummary; str(summary) is one line for the CLI
"""

from __future__ import annotations

import asyncio
import gzip
import heapq
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from trader.bus import EventBus
from trader.events import FeedConnected, FeedDisconnected
from trader.exchanges import exchange, recorded_exchange, titles
from trader.feeds.base import ExchangeHandler
from trader.market import MarketState

__all__ = ["ReplayFeed", "ReplaySummary", "detect_exchange", "read_messages", "make_handler",
           "first_receive_time"]

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22  # bytes read at a time
_YIELD_EVERY = 2000  # at max speed, let other tasks run every this many messages
_log = logging.getLogger("trader.feeds.replay")


@dataclass(frozen=True)
class ReplaySummary:
    exchange: str
    files: tuple[str, ...]
    messages: int
    rejected: int
    sequence_gaps: int
    seconds: float  # wall time of the replay
    recorded_seconds: float  # span of the recording's receive times
    counts: dict[str, int] = field(default_factory=dict)  # by kind: trade, quote, depth, ...

    def __str__(self) -> str:
        rate = self.messages / self.seconds if self.seconds > 0 else 0.0
        kinds = ", ".join(f"{v} {k}" for k, v in self.counts.items() if v)
        return (f"replay {self.exchange}: {self.messages} messages ({kinds}), {self.rejected} rejected, "
                f"{self.sequence_gaps} sequence gaps, {self.seconds:.2f} s ({rate:,.0f} msg/s), "
                f"recording spans {self.recorded_seconds:.0f} s")


def _open(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _lines(path: Path) -> Iterator[bytes]:
    """Lines of a file, read in large chunks (much cheaper than gzip's line iterator)."""
    with _open(path) as f:
        tail = b""
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail


def read_messages(path: str | Path) -> Iterator[tuple[float, bytes]]:
    """Yield (receive epoch seconds, raw JSON) for every message line of a recording."""
    path = Path(path)
    for number, line in enumerate(_lines(path), 1):
        head, _, payload = line.partition(b" ")
        if payload and head.isdigit():
            yield int(head) / 1e9, payload  # hftbacktest: nanoseconds (the common case, tested first)
            continue
        if not payload or not head[:1].isdigit():
            continue  # blank, or a connection line (cryptofeed: "wss://... <-> ts", "wss://... <- ts: sent")
        try:
            if head[-1:] == b":":
                ts = float(head[:-1])  # cryptofeed: seconds
            else:
                ts = int(head) / 1e9  # hftbacktest: nanoseconds
        except ValueError:
            _log.warning("replay line without a timestamp skipped", extra={"path": str(path), "line": number})
            continue
        yield ts, payload


def first_receive_time(paths: Sequence[str | Path]) -> float:
    """The earliest receive time of the recordings (where a simulated clock starts)."""
    times = [next((ts for ts, _ in read_messages(p)), None) for p in paths]
    known = [t for t in times if t is not None]
    if not known:
        raise ValueError(f"replay files {', '.join(map(str, paths))}: no message with a receive time")
    return min(known)


def _file_symbol(path: Path) -> str | None:
    """The symbol a single-symbol recording is about (its first ``"s":"..."`` field), else None."""
    with _open(path) as f:
        for _, line in zip(range(50), f):
            at = line.find(b'"s":"')
            if at >= 0:
                end = line.find(b'"', at + 5)
                return line[at + 5:end].decode()
    return None


def detect_exchange(path: str | Path) -> str:
    """The registered exchange whose messages fill the first lines of a recording."""
    with _open(Path(path)) as f:
        for _, line in zip(range(50), f):
            name = recorded_exchange(line)
            if name is not None:
                return name
    raise ValueError(f"replay file {path}: cannot tell the exchange (expected {titles()} messages)")


def make_handler(name: str, bus: EventBus, market: MarketState) -> ExchangeHandler:
    """The registered message handler of exchange ``name``."""
    return exchange(name).handler_class()(bus, market)


class ReplayFeed:
    """Replays one or more recordings of ONE exchange. ``speed``: None = as fast as possible,
    1.0 = real time, 10 = ten times real time."""

    def __init__(self, paths: str | Path | Sequence[str | Path], bus: EventBus, market: MarketState, *,
                 speed: float | None = None, exchange: str | None = None,
                 handler: ExchangeHandler | None = None) -> None:
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        for p in self.paths:
            if not p.is_file():
                raise FileNotFoundError(f"replay file {p}: not found")
        if speed is not None and not speed > 0:
            raise ValueError(f"replay speed {speed!r}: expected a number > 0, or None for max speed")
        self.speed = speed
        self.exchange = exchange or detect_exchange(self.paths[0])
        for p in self.paths[1:]:
            other = detect_exchange(p)
            if other != self.exchange:
                raise ValueError(f"replay file {p}: holds {other} messages, expected {self.exchange} "
                                 "(one ReplayFeed per exchange)")
        self.bus = bus
        self.market = market
        self.handler = handler or make_handler(self.exchange, bus, market)
        self.stats = self.handler.stats
        self.clock: Callable[[], float] = time.time
        self.simulated = False

    def use_simulated_time(self, clock: Callable[[], float]) -> None:
        """Pace by and stamp with the recording's receive times on ``clock`` (the simulated loop's)."""
        self.clock = clock
        self.simulated = True

    def _messages(self) -> Iterator[tuple[float, bytes]]:
        """(receive time, raw message) of every file, merged by receive time; the handler's
        ``context_symbol`` is set to the symbol of the file each message comes from."""
        symbols = [_file_symbol(p) for p in self.paths]
        self.handler.context_symbol = symbols[0]
        if len(self.paths) == 1:
            return read_messages(self.paths[0])  # no merge: one generator less per message
        return self._merged(symbols)

    def _merged(self, symbols: list[str | None]) -> Iterator[tuple[float, bytes]]:
        sources = [((ts, i, raw) for ts, raw in read_messages(p)) for i, p in enumerate(self.paths)]
        handler = self.handler
        for ts, i, raw in heapq.merge(*sources, key=lambda m: m[0]):
            handler.context_symbol = symbols[i]  # set as each message is handed out, not when merged
            yield ts, raw

    async def run(self) -> ReplaySummary:
        stats = self.stats
        start_messages = stats.messages
        start_rejected = sum(stats.rejected.values())
        start_gaps = sum(stats.sequence_gaps.values())
        start_counts = dict(self.handler.counts)
        clock = self.clock
        stats.mark_connected(clock())
        self.bus.publish(FeedConnected(self.exchange, clock()))
        _log.info("replay started", extra={"exchange": self.exchange, "files": [str(p) for p in self.paths],
                                           "speed": self.speed or "max"})
        on_message = self.handler.on_message
        wall_start = time.monotonic()
        first_ts = last_ts = None
        speed = self.speed
        n = 0
        reason = "end of recording"
        try:
            for recv_ts, raw in self._messages():
                if first_ts is None:
                    first_ts = recv_ts
                last_ts = recv_ts
                if self.simulated:
                    ahead = recv_ts - clock()
                    if ahead > 0:  # the simulated loop runs the timers due first, then jumps here
                        await asyncio.sleep(ahead)
                    on_message(raw, recv_ts)
                    continue
                if speed is None:
                    n += 1
                    if n == _YIELD_EVERY:
                        n = 0
                        await asyncio.sleep(0)
                else:
                    ahead = (recv_ts - first_ts) / speed - (time.monotonic() - wall_start)
                    if ahead > 0.001:
                        await asyncio.sleep(ahead)
                on_message(raw, clock())
        except asyncio.CancelledError:
            reason = "stopped"
            raise
        finally:
            stats.mark_disconnected("stopped", None)
            self.bus.publish(FeedDisconnected(self.exchange, clock(), reason))
        summary = ReplaySummary(
            exchange=self.exchange,
            files=tuple(str(p) for p in self.paths),
            messages=stats.messages - start_messages,
            rejected=sum(stats.rejected.values()) - start_rejected,
            sequence_gaps=sum(stats.sequence_gaps.values()) - start_gaps,
            seconds=time.monotonic() - wall_start,
            recorded_seconds=(last_ts - first_ts) if first_ts is not None else 0.0,
            counts={k: v - start_counts.get(k, 0) for k, v in self.handler.counts.items()},
        )
        _log.info("replay finished", extra={"exchange": self.exchange, "summary": str(summary)})
        return summary
