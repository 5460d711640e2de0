"""Mean reversion: fade a mid more than ``entry_threshold`` standard deviations from its mean.

The mean and deviation are over the last ``lookback_bars`` bars. Entries are post-only orders at
the mid (inside the spread, first in the queue), so they earn the maker fee, rest, and are
canceled after ``entry_timeout_seconds`` if the market moves away; one that would cross when it
arrives (the far side moved onto it during the round trip) is rejected by the exchange
(``post_only_would_take``).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..vocabulary import OrderType, Side
from .base import Key, Strategy

__all__ = ["MeanReversion"]


class MeanReversion(Strategy):
    kind = "mean_reversion"

    def decide(self, bars: deque) -> tuple[Side, float] | None:
        values = np.fromiter(bars, dtype=float, count=len(bars))
        history = values[:-1]
        sd = float(history.std(ddof=1))
        if not sd > 0:
            return None
        z = (values[-1] - float(history.mean())) / sd
        if abs(z) < self.config.entry_threshold:
            return None
        return ("sell" if z > 0 else "buy"), -z

    def entry_order(self, key: Key, side: Side) -> tuple[OrderType, float | None]:
        return "post_only", self.ctx.market.mid(*key)
