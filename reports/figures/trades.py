"""Statistics of closed round trips (the journal's ``trades``), overall or grouped.

A trade with ``net_pnl_usdt > 0`` is a win, any other a loss (the trader counts the same).

    >>> s = trade_stats([Trade(30.0, 3600), Trade(-10.0, 1800), Trade(-20.0, 600)])
    >>> s.count, round(s.win_rate, 4), s.profit_factor, s.expectancy_usdt, s.average_holding_seconds
    (3, 0.3333, 1.0, 0.0, 2000.0)
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, Sequence

__all__ = ["TradeStats", "trade_stats", "grouped_stats", "Trade"]


class _TradeLike(Protocol):
    net_pnl_usdt: float
    holding_seconds: float


@dataclass(frozen=True)
class Trade:
    """The two fields the statistics read (the journal's ``TradeRow`` has them too)."""

    net_pnl_usdt: float
    holding_seconds: float


@dataclass(frozen=True)
class TradeStats:
    count: int
    wins: int
    losses: int
    win_rate: float | None  # wins / count
    net_pnl_usdt: float  # sum of net PnL (after fees and funding)
    gross_profit_usdt: float  # sum of winning net PnL
    gross_loss_usdt: float  # sum of losing net PnL (<= 0)
    profit_factor: float | None  # gross profit / |gross loss|; None without a loss
    expectancy_usdt: float | None  # mean net PnL per trade
    average_win_usdt: float | None
    average_loss_usdt: float | None  # <= 0
    largest_win_usdt: float | None
    largest_loss_usdt: float | None  # the most negative
    average_holding_seconds: float | None


def trade_stats(trades: Iterable[_TradeLike]) -> TradeStats:
    """The statistics of ``trades``:

    - win rate = wins / count;
    - profit factor = sum(winning net PnL) / |sum(losing net PnL)| (absent without a loss);
    - expectancy = mean net PnL per trade (= win rate x average win + loss rate x average loss);
    - average and largest win and loss, over the wins and over the losses;
    - average holding time = mean of ``holding_seconds``.
    """
    trades = list(trades)
    pnl = [t.net_pnl_usdt for t in trades]
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if not p > 0]
    gross_loss = sum(losses)
    return TradeStats(
        count=len(pnl), wins=len(wins), losses=len(losses),
        win_rate=len(wins) / len(pnl) if pnl else None,
        net_pnl_usdt=sum(pnl), gross_profit_usdt=sum(wins), gross_loss_usdt=gross_loss,
        profit_factor=sum(wins) / -gross_loss if gross_loss < 0 else None,
        expectancy_usdt=statistics.fmean(pnl) if pnl else None,
        average_win_usdt=statistics.fmean(wins) if wins else None,
        average_loss_usdt=statistics.fmean(losses) if losses else None,
        largest_win_usdt=max(wins) if wins else None,
        largest_loss_usdt=min(losses) if losses else None,
        average_holding_seconds=statistics.fmean(t.holding_seconds for t in trades) if trades else None,
    )


def grouped_stats(trades: Sequence[_TradeLike], key: Callable[[_TradeLike], str]) -> list[tuple[str, TradeStats]]:
    """``trade_stats`` per ``key`` (strategy, symbol), the best net PnL first, then by name."""
    groups: dict[str, list[_TradeLike]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    stats = [(name, trade_stats(group)) for name, group in groups.items()]
    return sorted(stats, key=lambda item: (-item[1].net_pnl_usdt, item[0]))
