"""The BTC buy-and-hold benchmark, from daily closing marks (the journal's ``daily_marks``).

Account returns ``a`` and BTC returns ``b`` are paired by UTC day; with at least
``MIN_DAILY_RETURNS`` pairs (sample statistics, n - 1):

- beta = cov(a, b) / var(b);
- alpha = (mean(a) - beta * mean(b)) * 365 (Jensen's alpha, annualised, risk-free rate 0);
- correlation = Pearson's r of a and b;
- tracking error = stdev(a - b) * sqrt(365);
- information ratio = mean(a - b) * 365 / tracking error.

    >>> marks = {"2026-01-01": 100.0, "2026-01-02": 110.0, "2026-01-03": 99.0}
    >>> benchmark_daily_returns(marks)
    {'2026-01-02': 0.10000000000000009, '2026-01-03': -0.09999999999999998}
    >>> round(benchmark_return(marks, "2026-01-02", "2026-01-03"), 6)  # close of 01-01 to close of 01-03
    -0.01
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping

from .returns import DAYS_PER_YEAR, MIN_DAILY_RETURNS

__all__ = ["BenchmarkStats", "benchmark_daily_returns", "benchmark_return", "benchmark_stats"]


@dataclass(frozen=True)
class BenchmarkStats:
    pairs: int  # days with both returns
    beta: float | None
    alpha: float | None  # annualised
    correlation: float | None
    tracking_error: float | None  # annualised
    information_ratio: float | None


def _previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def benchmark_daily_returns(closes: Mapping[str, float]) -> dict[str, float]:
    """``close(d) / close(d - 1) - 1`` for each day whose previous day has a close too."""
    return {day: close / closes[_previous_day(day)] - 1.0 for day, close in sorted(closes.items())
            if _previous_day(day) in closes and closes[_previous_day(day)] > 0}


def benchmark_return(closes: Mapping[str, float], first_day: str, last_day: str,
                     opens: Mapping[str, float] | None = None) -> float | None:
    """Buy at the close before ``first_day`` (or its open), sell at the close of ``last_day``
    (or the latest close before it): ``close / start - 1``. None without both prices."""
    start = closes.get(_previous_day(first_day)) or (opens or {}).get(first_day)
    ends = [close for day, close in sorted(closes.items()) if first_day <= day <= last_day]
    if not start or not ends:
        return None
    return ends[-1] / start - 1.0


def benchmark_stats(account: Mapping[str, float], btc: Mapping[str, float]) -> BenchmarkStats:
    """The statistics above over the days present in both ``account`` and ``btc`` returns."""
    days = sorted(set(account) & set(btc))
    a = [account[d] for d in days]
    b = [btc[d] for d in days]
    if len(days) < MIN_DAILY_RETURNS:
        return BenchmarkStats(len(days), None, None, None, None, None)
    var_b = statistics.variance(b)
    beta = statistics.covariance(a, b) / var_b if var_b > 0 else None
    alpha = (statistics.fmean(a) - beta * statistics.fmean(b)) * DAYS_PER_YEAR if beta is not None else None
    correlation = (statistics.correlation(a, b)
                   if var_b > 0 and statistics.variance(a) > 0 else None)
    excess = [x - y for x, y in zip(a, b)]
    sd_excess = statistics.stdev(excess)
    tracking_error = sd_excess * math.sqrt(DAYS_PER_YEAR)
    information_ratio = (statistics.fmean(excess) * DAYS_PER_YEAR / tracking_error) if sd_excess > 0 else None
    return BenchmarkStats(len(days), beta, alpha, correlation, tracking_error, information_ratio)
