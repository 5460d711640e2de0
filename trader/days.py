"""An account's closed UTC days: the returns its Sharpe and Sortino ratios read.

Each day roll closes a ``ClosedDay`` (start and end equity, the day's deepest drawdown) and
``DailyReturns.close`` keeps its return, ``(end - start) / start``, and per strategy the net PnL
of the strategy's trades closed that day over the same start equity (0 on a day it closed
nothing), the last ``risk.DAILY_WINDOW`` (30) of each. The journal writes the same days
(``daily`` rows) and gives them back at start (trader/journal/restore.py), so the ratios go on
across restarts.

    >>> days = DailyReturns()
    >>> days.close(ClosedDay(20_000, 10_000.0, 10_100.0, 0.0), {"momentum": 40.0})
    >>> list(days.account), list(days.strategies["momentum"])
    ([0.01], [0.004])
    >>> days.close(ClosedDay(20_001, 10_100.0, 10_100.0, 0.0), {"momentum": 40.0})  # nothing closed
    >>> list(days.strategies["momentum"]), days.sharpe() is None   # 7 days are needed
    ([0.004, 0.0], True)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

from . import risk

__all__ = ["ClosedDay", "DailyReturns"]


@dataclass(frozen=True)
class ClosedDay:
    """A UTC day that just ended (``day`` = days since the epoch), as the day roll saw it."""

    day: int
    equity_start: float
    equity_end: float
    max_drawdown: float

    @property
    def daily_return(self) -> float:
        return (self.equity_end - self.equity_start) / self.equity_start if self.equity_start > 0 else 0.0


def _window() -> deque[float]:
    return deque(maxlen=risk.DAILY_WINDOW)


@dataclass
class DailyReturns:
    account: deque[float] = field(default_factory=_window)  # oldest first
    strategies: dict[str, deque[float]] = field(default_factory=dict)
    # each strategy's closed-trade net PnL (since the start) when the open day began
    strategy_base: dict[str, float] = field(default_factory=dict)

    def close(self, closed: ClosedDay, strategy_nets: Mapping[str, float]) -> None:
        """Keep the returns of ``closed``; ``strategy_nets``: each strategy's closed-trade net PnL now."""
        self.account.append(closed.daily_return)
        start = closed.equity_start
        for name, net in strategy_nets.items():
            made = net - self.strategy_base.get(name, 0.0)
            self.strategies.setdefault(name, _window()).append(made / start if start > 0 else 0.0)
            self.strategy_base[name] = net

    def sharpe(self) -> float | None:
        return risk.daily_sharpe(self.account)

    def sortino(self) -> float | None:
        return risk.daily_sortino(self.account)

    def strategy_sharpe(self) -> dict[str, float]:
        """Per strategy with a ratio (7 days or more, and returns that vary)."""
        ratios = {name: risk.daily_sharpe(returns) for name, returns in self.strategies.items()}
        return {name: value for name, value in ratios.items() if value is not None}
