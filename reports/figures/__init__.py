"""The figures of a report: pure functions of journal rows, each formula in its docstring.

- ``returns``: compounded returns, annualised return and volatility, Sharpe and Sortino (30 d);
- ``trades``: count, win rate, profit factor, expectancy, wins and losses, holding time;
- ``drawdown``: the drawdown curve and its deepest point;
- ``benchmark``: BTC buy-and-hold: return, beta, alpha, correlation, information ratio, tracking error.

Daily returns are ``pnl_usdt / equity_start_usdt`` of the journal's daily rows (transfers are
not returns: the trader takes them out of ``pnl_usdt``); a year is 365 days (crypto trades every
day); the risk-free rate is 0; a ratio over daily returns needs at least ``MIN_DAILY_RETURNS``.
"""

from .benchmark import BenchmarkStats, benchmark_daily_returns, benchmark_return, benchmark_stats
from .drawdown import drawdown_series, max_drawdown
from .returns import (DAYS_PER_YEAR, MIN_DAILY_RETURNS, annualised_return, annualised_volatility, compound,
                      daily_return, sharpe, sortino)
from .trades import TradeStats, grouped_stats, trade_stats

__all__ = [
    "DAYS_PER_YEAR", "MIN_DAILY_RETURNS", "compound", "daily_return", "annualised_return",
    "annualised_volatility", "sharpe", "sortino", "TradeStats", "trade_stats", "grouped_stats",
    "drawdown_series", "max_drawdown", "BenchmarkStats", "benchmark_return", "benchmark_daily_returns",
    "benchmark_stats",
]
