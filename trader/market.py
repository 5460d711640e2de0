"""Market state: what the feeds know, per (exchange, symbol) and per exchange.

``MarketState`` is written only by the feeds (and the anomaly detector's counters) and read by
everyone else. Readers use the accessor methods or the frozen snapshots; the mutable
``SymbolState``/``FeedStats`` objects are the feeds' hot-path storage (plain attributes and ints,
no locks: everything runs on one asyncio loop).

    >>> market = MarketState()
    >>> s = market.symbol("binance", "BTCUSDT")
    >>> s.bid, s.ask = 60000.0, 60000.5
    >>> market.mid("binance", "BTCUSDT")
    60000.25
    >>> market.feed("binance").messages += 1
    >>> market.feed_snapshots()[0].messages
    1

Public API (for the engine, broker, strategies and exporters):
- ``market.symbol(exchange, symbol) -> SymbolState`` (created on first use)
- ``market.get(exchange, symbol) -> SymbolState | None``
- ``market.best_bid/best_ask/mid/last_price/mark_price/funding_rate(exchange, symbol) -> float | None``
- ``market.book(exchange, symbol) -> OrderBook`` (depth for slippage: ``book.levels("ask", 10)``)
- ``market.feed(exchange) -> FeedStats``; ``market.symbols() -> list[(exchange, symbol)]``
- ``market.feed_snapshots() -> tuple[FeedSnapshot, ...]``,
  ``market.market_snapshots() -> tuple[MarketSnapshot, ...]`` (for ``Trader.snapshot()``)
"""

from __future__ import annotations

from typing import Iterator

from trader.book import OrderBook
from trader.snapshot import FeedSnapshot, MarketSnapshot
from trader.vocabulary import ANOMALY_REASONS, FEED_REJECT_REASONS, SIDES, FeedState, MarketKey

__all__ = ["MarketState", "SymbolState", "FeedStats"]


class SymbolState:
    """Latest figures of one (exchange, symbol). ``None`` until the feed has seen the figure."""

    __slots__ = (
        "exchange", "symbol", "book",
        "bid", "bid_quantity", "ask", "ask_quantity", "quote_ts",
        "last_price", "last_quantity", "last_trade_ts",
        "mark_price", "index_price", "funding_rate", "next_funding_ts",
        "last_message_ts", "anomaly_checks", "anomalies", "liquidations",
    )

    def __init__(self, exchange: str, symbol: str) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.book = OrderBook()
        self.bid: float | None = None  # best bid from the exchange's ticker (bookTicker/tickers)
        self.bid_quantity: float | None = None
        self.ask: float | None = None
        self.ask_quantity: float | None = None
        self.quote_ts: float | None = None
        self.last_price: float | None = None
        self.last_quantity: float | None = None
        self.last_trade_ts: float | None = None
        self.mark_price: float | None = None
        self.index_price: float | None = None
        self.funding_rate: float | None = None  # per funding interval
        self.next_funding_ts: float | None = None
        self.last_message_ts: float | None = None  # local receive time
        self.anomaly_checks = 0
        self.anomalies: dict[str, int] = dict.fromkeys(ANOMALY_REASONS, 0)
        self.liquidations: dict[str, int] = dict.fromkeys(SIDES, 0)

    def best_bid(self) -> float | None:
        """The ticker's best bid (fresher on every exchange), else the book's."""
        return self.bid if self.bid is not None else self.book.best_bid()

    def best_ask(self) -> float | None:
        return self.ask if self.ask is not None else self.book.best_ask()

    def mid(self) -> float | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return self.last_price
        return (bid + ask) / 2.0

    def snapshot(self) -> MarketSnapshot:
        return MarketSnapshot(
            exchange=self.exchange,
            symbol=self.symbol,
            last_message_ts=self.last_message_ts,
            best_bid=self.best_bid(),
            best_ask=self.best_ask(),
            mark_price=self.mark_price,
            funding_rate=self.funding_rate,
            anomaly_checks=self.anomaly_checks,
            anomalies=dict(self.anomalies),
            liquidations=dict(self.liquidations),
        )


class FeedStats:
    """Health of one exchange's feed. ``state`` is one of ``vocabulary.FEED_STATES``."""

    __slots__ = ("exchange", "state", "connected", "connected_since", "reconnects", "messages",
                 "rejected", "sequence_gaps", "last_error", "connects")

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.state: FeedState = "stopped"
        self.connected = False
        self.connected_since: float | None = None
        self.connects = 0  # successful connections; reconnects = connects after the first
        self.reconnects = 0
        self.messages = 0
        self.rejected: dict[str, int] = dict.fromkeys(FEED_REJECT_REASONS, 0)
        self.sequence_gaps: dict[str, int] = {}  # symbol -> count
        self.last_error: str | None = None

    def mark_connected(self, now: float) -> None:
        self.state = "connected"
        self.connected = True
        self.connected_since = now
        self.connects += 1
        if self.connects > 1:
            self.reconnects += 1

    def mark_disconnected(self, state: FeedState, error: str | None) -> None:
        self.state = state
        self.connected = False
        self.connected_since = None
        if error is not None:
            self.last_error = error

    def snapshot(self) -> FeedSnapshot:
        return FeedSnapshot(
            exchange=self.exchange,
            state=self.state,
            connected=self.connected,
            connected_since=self.connected_since,
            reconnects=self.reconnects,
            messages=self.messages,
            rejected=dict(self.rejected),
            sequence_gaps=dict(self.sequence_gaps),
            last_error=self.last_error,
        )


class MarketState:
    def __init__(self) -> None:
        self._symbols: dict[MarketKey, SymbolState] = {}
        self._feeds: dict[str, FeedStats] = {}

    # --- writers (feeds) ------------------------------------------------------------------

    def symbol(self, exchange: str, symbol: str) -> SymbolState:
        key = (exchange, symbol)
        state = self._symbols.get(key)
        if state is None:
            state = self._symbols[key] = SymbolState(exchange, symbol)
        return state

    def feed(self, exchange: str) -> FeedStats:
        stats = self._feeds.get(exchange)
        if stats is None:
            stats = self._feeds[exchange] = FeedStats(exchange)
        return stats

    # --- readers --------------------------------------------------------------------------

    def get(self, exchange: str, symbol: str) -> SymbolState | None:
        return self._symbols.get((exchange, symbol))

    def symbols(self) -> list[MarketKey]:
        return list(self._symbols)

    def __iter__(self) -> Iterator[SymbolState]:
        return iter(list(self._symbols.values()))

    def book(self, exchange: str, symbol: str) -> OrderBook:
        return self.symbol(exchange, symbol).book

    def best_bid(self, exchange: str, symbol: str) -> float | None:
        s = self._symbols.get((exchange, symbol))
        return s.best_bid() if s else None

    def best_ask(self, exchange: str, symbol: str) -> float | None:
        s = self._symbols.get((exchange, symbol))
        return s.best_ask() if s else None

    def mid(self, exchange: str, symbol: str) -> float | None:
        s = self._symbols.get((exchange, symbol))
        return s.mid() if s else None

    def last_price(self, exchange: str, symbol: str) -> float | None:
        s = self._symbols.get((exchange, symbol))
        return s.last_price if s else None

    def mark_price(self, exchange: str, symbol: str) -> float | None:
        """The exchange's mark price, else the mid (the sim and replays may lack a mark)."""
        s = self._symbols.get((exchange, symbol))
        if s is None:
            return None
        return s.mark_price if s.mark_price is not None else s.mid()

    def funding_rate(self, exchange: str, symbol: str) -> float | None:
        s = self._symbols.get((exchange, symbol))
        return s.funding_rate if s else None

    def feed_snapshots(self) -> tuple[FeedSnapshot, ...]:
        return tuple(stats.snapshot() for stats in list(self._feeds.values()))

    def market_snapshots(self) -> tuple[MarketSnapshot, ...]:
        return tuple(state.snapshot() for state in list(self._symbols.values()))
