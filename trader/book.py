"""A level-2 order book for one (exchange, symbol): price -> quantity per side.

The book is two plain dicts keyed by float price. Nothing is kept sorted: the best bid and ask
are cached and recomputed (one ``max``/``min`` over the keys) only when the cached best level is
removed, so an update touching N levels costs N dict operations. ``levels(side, n)`` sorts on
demand for readers that need depth (the paper broker's slippage model).

    >>> book = OrderBook()
    >>> book.apply([(100.0, 2.0), (99.5, 1.0)], [(100.5, 3.0)])
    >>> book.best_bid(), book.best_ask()
    (100.0, 100.5)
    >>> book.apply([(100.0, 0.0)], [])  # quantity 0 removes the level
    >>> book.best_bid()
    99.5
    >>> book.levels("ask", 5)
    [(100.5, 3.0)]
"""

from __future__ import annotations

import heapq
from operator import itemgetter
from typing import Iterable, Literal

__all__ = ["OrderBook", "InvalidValue", "parse_levels", "parse_side"]


class InvalidValue(ValueError):
    """A number that parsed but cannot be a market figure: NaN, infinite, a price <= 0."""


class OrderBook:
    __slots__ = ("bids", "asks", "_best_bid", "_best_ask")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        # None means "unknown, recompute on read" (the best level was deleted or the book reset).
        self._best_bid: float | None = None
        self._best_ask: float | None = None

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._best_bid = None
        self._best_ask = None

    def replace(self, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]]) -> None:
        """Reset the book to a full snapshot."""
        self.clear()
        self.apply(bids, asks)

    def apply(self, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]]) -> None:
        """Apply absolute levels: quantity > 0 sets the level, 0 removes it."""
        book = self.bids
        best = self._best_bid
        for price, qty in bids:
            if qty > 0.0:
                book[price] = qty
                if best is not None and price > best:
                    best = price
            elif book.pop(price, None) is not None and price == best:
                best = None
        self._best_bid = best if book else None

        book = self.asks
        best = self._best_ask
        for price, qty in asks:
            if qty > 0.0:
                book[price] = qty
                if best is not None and price < best:
                    best = price
            elif book.pop(price, None) is not None and price == best:
                best = None
        self._best_ask = best if book else None

    def best_bid(self) -> float | None:
        if self._best_bid is None and self.bids:
            self._best_bid = max(self.bids)
        return self._best_bid

    def best_ask(self) -> float | None:
        if self._best_ask is None and self.asks:
            self._best_ask = min(self.asks)
        return self._best_ask

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid >= ask

    def levels(self, side: Literal["bid", "ask"], n: int = 10) -> list[tuple[float, float]]:
        """The best ``n`` levels of one side, best first."""
        if side == "bid":
            prices = heapq.nlargest(n, self.bids)
            return [(p, self.bids[p]) for p in prices]
        prices = heapq.nsmallest(n, self.asks)
        return [(p, self.asks[p]) for p in prices]

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)


_INF = float("inf")


def parse_levels(raw: list) -> list[tuple[float, float]]:
    out = []
    for level in raw:
        price = float(level[0])
        qty = float(level[1])
        # NaN fails every comparison, so one chained test rejects NaN, inf, <= 0 prices and
        # negative or NaN quantities.
        if not (0.0 < price < _INF and 0.0 <= qty < _INF):
            raise InvalidValue(f"invalid level price={level[0]!r} quantity={level[1]!r}")
        out.append((price, qty))
    return out


_PRICE, _QUANTITY = itemgetter(0), itemgetter(1)


def parse_side(raw: list) -> tuple[list[float], list[float]]:
    """One side of a depth message as two lists, (prices, quantities); apply it with
    ``book.apply(zip(*bids), zip(*asks))``.

    The same validation as ``parse_levels`` at about half the cost: a Binance depth event carries
    ~70 levels, and a tuple per level was most of a replay's parsing time. On a bad level,
    ``parse_levels`` runs to raise exactly the error it meets first.
    """
    try:
        prices = list(map(float, map(_PRICE, raw)))
        quantities = list(map(float, map(_QUANTITY, raw)))
    except Exception:  # noqa: BLE001 - any malformed level: let the level-by-level parse decide
        parse_levels(raw)  # raises what it meets first (maybe an InvalidValue before this error)
        raise
    for price, qty in zip(prices, quantities):
        if not (0.0 < price < _INF and 0.0 <= qty < _INF):
            parse_levels(raw)  # raises InvalidValue naming the first bad level
    return prices, quantities
