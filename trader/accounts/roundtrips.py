"""Closed positions rebuilt from fills, for an exchange that keeps no position history (Binance USDⓈ-M).

A round trip opens with the first fill on a flat symbol and closes with the fill that brings it
back to flat (a fill that flips the side closes one trip and opens the next with the rest). Its
PnL is the exchange's own ``realizedPnl`` of the closing fills; fees are those of every fill of
the trip (a flipping fill's fee split by quantity); funding is what the exchange paid or charged
while it was open. A trip whose closing fills belong to a liquidation order is ``liquidated``.

A position already open when watching began (or restored from the journal) is ``seed``-ed with
what the exchange says of it, since its opening fills were never read:

    >>> from trader.accounts.model import Fill
    >>> trips = RoundTrips()
    >>> trips.add(Fill("1", "BTCUSDT", 0.5, 60_000.0, 30_000.0, 12.0, 0.0, "o1", 100.0)) is None
    True
    >>> closed = trips.add(Fill("2", "BTCUSDT", -0.5, 61_000.0, 30_500.0, 12.2, 500.0, "o2", 160.0))
    >>> closed.side, closed.pnl, round(closed.fees, 2), round(closed.net_pnl, 2), closed.closed_at - closed.opened_at
    ('long', 500.0, 24.2, 475.8, 60.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from trader.accounts.model import ClosedPosition, Fill

__all__ = ["RoundTrips"]

_FLAT = 1e-12


@dataclass
class _Trip:
    quantity: float  # signed, now
    opened_at: float
    max_abs: float = 0.0
    entry_value: float = 0.0  # sum of price * quantity of the fills that opened or added
    entry_quantity: float = 0.0
    exit_value: float = 0.0
    exit_quantity: float = 0.0
    pnl: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    liquidated: bool = False


class RoundTrips:
    def __init__(self) -> None:
        self._open: dict[str, _Trip] = {}

    def seed(self, symbol: str, quantity: float, entry_price: float, opened_at: float) -> None:
        """A position open before its fills were read: start its trip from what the exchange says."""
        if symbol not in self._open and abs(quantity) > _FLAT:
            self._open[symbol] = _Trip(quantity, opened_at, abs(quantity), entry_price * abs(quantity), abs(quantity))

    def add_funding(self, symbol: str, amount: float) -> None:
        trip = self._open.get(symbol)
        if trip is not None:
            trip.funding += amount

    def add(self, fill: Fill, liquidation: bool = False) -> ClosedPosition | None:
        """Book ``fill`` (in the exchange's order); the round trip it closed, if any."""
        trip = self._open.get(fill.symbol)
        quantity = fill.quantity
        if trip is None or trip.quantity * quantity > 0:
            self._open_more(fill.symbol, trip, fill, quantity, fill.fee)
            return None
        close = min(abs(quantity), abs(trip.quantity))
        share = close / abs(quantity)
        trip.exit_value += close * fill.price
        trip.exit_quantity += close
        trip.pnl += fill.realized_pnl
        trip.fees += fill.fee * share
        trip.liquidated = trip.liquidated or liquidation
        trip.quantity += close if quantity > 0 else -close
        closed = None
        if abs(trip.quantity) <= _FLAT:
            closed = self._close(fill, trip)
        rest = abs(quantity) - close
        if rest > _FLAT:  # the fill flipped the side: the rest opens the next trip
            self._open_more(fill.symbol, None, fill, rest if quantity > 0 else -rest, fill.fee * (1 - share))
        return closed

    def _open_more(self, symbol: str, trip: _Trip | None, fill: Fill, quantity: float, fee: float) -> None:
        if trip is None:
            trip = self._open[symbol] = _Trip(0.0, fill.ts)
        trip.quantity += quantity
        trip.max_abs = max(trip.max_abs, abs(trip.quantity))
        trip.entry_value += abs(quantity) * fill.price
        trip.entry_quantity += abs(quantity)
        trip.fees += fee

    def _close(self, fill: Fill, trip: _Trip) -> ClosedPosition:
        del self._open[fill.symbol]
        side = "long" if fill.quantity < 0 else "short"  # a sell closes a long
        return ClosedPosition(
            id=fill.id, symbol=fill.symbol, side=side, quantity=trip.max_abs,
            entry_price=trip.entry_value / trip.entry_quantity if trip.entry_quantity else fill.price,
            exit_price=trip.exit_value / trip.exit_quantity if trip.exit_quantity else fill.price,
            opened_at=trip.opened_at, closed_at=fill.ts, pnl=trip.pnl, fees=trip.fees, funding=trip.funding,
            net_pnl=trip.pnl - trip.fees + trip.funding, liquidated=trip.liquidated)

    def open_trips(self) -> dict[str, dict]:
        """The trips still open (what the journal's ``positions`` rows hold), as plain values."""
        return {symbol: asdict(trip) for symbol, trip in self._open.items()}

    def restore(self, saved: dict[str, dict]) -> None:
        self._open = {symbol: _Trip(**values) for symbol, values in saved.items()}
