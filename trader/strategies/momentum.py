"""Momentum: follow a move of more than ``entry_threshold`` bps over ``lookback_bars`` bars.

Entries alternate between a market order and a marketable limit at the far touch (a taker limit
that never pays more than the touch), so both order types trade.
"""

from __future__ import annotations

from collections import deque

from ..vocabulary import OrderType, Side
from .base import Key, Strategy

__all__ = ["Momentum"]


class Momentum(Strategy):
    kind = "momentum"

    def decide(self, bars: deque) -> tuple[Side, float] | None:
        first, last = bars[0], bars[-1]
        move_bps = (last / first - 1.0) * 1e4
        if abs(move_bps) < self.config.entry_threshold:
            return None
        return ("buy" if move_bps > 0 else "sell"), move_bps / self.config.entry_threshold

    def entry_order(self, key: Key, side: Side) -> tuple[OrderType, float | None]:
        if self._entries % 2 == 0:
            return "market", None
        market = self.ctx.market
        touch = market.best_ask(*key) if side == "buy" else market.best_bid(*key)
        return "limit", touch
