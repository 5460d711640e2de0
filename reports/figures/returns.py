"""Returns and the ratios over daily returns.

    >>> round(compound([0.10, -0.10]), 6)  # +10 % then -10 %: down 1 %
    -0.01
    >>> round(annualised_volatility([0.01, -0.01] * 4), 4)  # stdev 0.010690 x sqrt(365)
    0.2042
    >>> sharpe([0.01] * 6 + [0.02]) is None, sharpe([0.01] * 5)  # constant: undefined; 5 days: too few
    (False, None)
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

__all__ = ["DAYS_PER_YEAR", "MIN_DAILY_RETURNS", "daily_return", "compound", "annualised_return",
           "annualised_volatility", "sharpe", "sortino"]

DAYS_PER_YEAR = 365
# Below a week of daily returns a mean and a deviation say nothing: the figure is absent (docs/journal.md).
MIN_DAILY_RETURNS = 7


def daily_return(pnl_usdt: float, equity_start_usdt: float) -> float | None:
    """``pnl / equity at the start of the day``; None when the day started with no equity."""
    if not equity_start_usdt > 0 or not math.isfinite(pnl_usdt):
        return None
    return pnl_usdt / equity_start_usdt


def compound(returns: Sequence[float]) -> float | None:
    """The return of a sequence of returns: ``prod(1 + r) - 1``; None for no returns."""
    if not returns:
        return None
    total = 1.0
    for r in returns:
        total *= 1.0 + r
    return total - 1.0


def annualised_return(total_return: float | None, days: int) -> float | None:
    """``(1 + total) ** (365 / days) - 1``: the yearly rate that compounds to ``total`` in ``days``.

    Absent below ``MIN_DAILY_RETURNS`` days, and for a total loss (no rate compounds to it).
    """
    if total_return is None or days < MIN_DAILY_RETURNS or total_return <= -1.0:
        return None
    return (1.0 + total_return) ** (DAYS_PER_YEAR / days) - 1.0


def annualised_volatility(returns: Sequence[float]) -> float | None:
    """``stdev(daily returns) * sqrt(365)``, the sample standard deviation (n - 1)."""
    if len(returns) < MIN_DAILY_RETURNS:
        return None
    return statistics.stdev(returns) * math.sqrt(DAYS_PER_YEAR)


def sharpe(returns: Sequence[float]) -> float | None:
    """``mean / stdev * sqrt(365)`` of daily returns (sample stdev, risk-free rate 0).

    The trader's ``trader.risk.sharpe`` on the same returns gives the same number (a test checks).
    Absent below ``MIN_DAILY_RETURNS`` returns or when they do not vary.
    """
    if len(returns) < MIN_DAILY_RETURNS:
        return None
    sd = statistics.stdev(returns)
    if not sd > 0:
        return None
    return statistics.fmean(returns) / sd * math.sqrt(DAYS_PER_YEAR)


def sortino(returns: Sequence[float]) -> float | None:
    """``mean / downside deviation * sqrt(365)``; downside deviation = ``sqrt(mean(min(r, 0)^2))``
    over every return (the target is 0). Absent below ``MIN_DAILY_RETURNS`` or with no losing day."""
    if len(returns) < MIN_DAILY_RETURNS:
        return None
    downside = math.sqrt(statistics.fmean(min(r, 0.0) ** 2 for r in returns))
    if not downside > 0:
        return None
    return statistics.fmean(returns) / downside * math.sqrt(DAYS_PER_YEAR)
