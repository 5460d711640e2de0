"""Risk maths on equity samples, with numpy. Pure functions; no state, no clock.

Inputs are simple returns of equity sampled at a fixed interval ``dt`` seconds (10 s by default).

- VaR/CVaR are 1-day, at ``confidence`` (99 %), in USDT, positive = a loss. The per-sample
  figure is scaled to one day by the square-root-of-time rule, ``sqrt(86400 / dt)``, which
  assumes independent returns; good enough for an alerting figure, not for capital planning.
  * historical: the empirical ``1 - confidence`` quantile of the returns (CVaR: the mean of the
    returns at or below it);
  * parametric: normal with zero mean, ``z * sigma`` (CVaR ``sigma * pdf(z) / (1 - confidence)``).
    The mean is left out: a 10-s mean scaled by 8,640 samples a day would swamp the figure with noise.
- Sharpe and Sortino are annualised with ``sqrt(periods per year)``, a year being 365 days of
  ``dt`` periods (crypto trades every day); the risk-free rate is taken as 0. The figures the
  trader publishes are ``daily_sharpe``/``daily_sortino``: the last ``DAILY_WINDOW`` (30) UTC
  days' returns, annualised with sqrt(365), none until ``MIN_DAILY_RETURNS`` (7) exist.
- Drawdown is ``(high-water mark - equity) / high-water mark``.

    >>> round(drawdown_ratio(8_000.0, 10_000.0), 3)
    0.2
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = [
    "SECONDS_PER_DAY", "SECONDS_PER_YEAR", "returns", "var_historical", "cvar_historical",
    "var_parametric", "cvar_parametric", "sharpe", "sortino", "drawdown_ratio", "max_drawdown_ratio",
    "max_pairwise_correlation", "liquidation_price", "liquidation_distance_ratio", "DAILY_WINDOW", "MIN_DAILY_RETURNS", "daily_sharpe",
    "daily_sortino",
]

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_YEAR = 365.0 * SECONDS_PER_DAY


def returns(values: np.ndarray) -> np.ndarray:
    """Simple returns of a positive series; a non-positive value ends the meaningful series."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return np.empty(0)
    previous = values[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.diff(values) / previous
    return out[np.isfinite(out)]


def _day_scale(dt: float) -> float:
    return math.sqrt(SECONDS_PER_DAY / dt)


def var_historical(r: np.ndarray, equity: float, dt: float, confidence: float = 0.99) -> float:
    q = float(np.quantile(r, 1.0 - confidence, method="linear"))
    return max(0.0, -q) * _day_scale(dt) * equity


def cvar_historical(r: np.ndarray, equity: float, dt: float, confidence: float = 0.99) -> float:
    q = np.quantile(r, 1.0 - confidence, method="linear")
    tail = r[r <= q]
    return max(0.0, -float(tail.mean())) * _day_scale(dt) * equity


def var_parametric(r: np.ndarray, equity: float, dt: float, confidence: float = 0.99) -> float:
    z = NormalDist().inv_cdf(confidence)
    return z * float(np.std(r, ddof=1)) * _day_scale(dt) * equity


def cvar_parametric(r: np.ndarray, equity: float, dt: float, confidence: float = 0.99) -> float:
    z = NormalDist().inv_cdf(confidence)
    tail = NormalDist().pdf(z) / (1.0 - confidence)
    return tail * float(np.std(r, ddof=1)) * _day_scale(dt) * equity


def sharpe(r: np.ndarray, dt: float) -> float | None:
    """Annualised Sharpe ratio; None when the returns do not vary (no meaningful ratio)."""
    sd = float(np.std(r, ddof=1))
    if not sd > 0:
        return None
    return float(np.mean(r)) / sd * math.sqrt(SECONDS_PER_YEAR / dt)


def sortino(r: np.ndarray, dt: float) -> float | None:
    """Annualised Sortino ratio (downside deviation against 0); None without a losing sample."""
    downside = np.minimum(r, 0.0)
    dd = math.sqrt(float(np.mean(downside * downside)))
    if not dd > 0:
        return None
    return float(np.mean(r)) / dd * math.sqrt(SECONDS_PER_YEAR / dt)


# Sharpe and Sortino "30 d": the returns of the last 30 closed UTC days (docs/journal.md), and none
# before a week of them: with fewer, one day decides the ratio.
DAILY_WINDOW = 30
MIN_DAILY_RETURNS = 7


def daily_sharpe(daily_returns) -> float | None:
    """Sharpe ratio of the last 30 daily returns, annualised with sqrt(365); None with fewer than 7.

    >>> round(daily_sharpe([0.01, -0.005, 0.02, 0.0, 0.01, -0.01, 0.005]), 2)
    8.05
    >>> daily_sharpe([0.01] * 6) is None
    True
    """
    r = np.asarray(daily_returns, dtype=float)[-DAILY_WINDOW:]
    return sharpe(r, SECONDS_PER_DAY) if r.size >= MIN_DAILY_RETURNS else None


def daily_sortino(daily_returns) -> float | None:
    """Sortino ratio (downside deviation against 0) of the last 30 daily returns, annualised with
    sqrt(365); None with fewer than 7, or without a losing day."""
    r = np.asarray(daily_returns, dtype=float)[-DAILY_WINDOW:]
    return sortino(r, SECONDS_PER_DAY) if r.size >= MIN_DAILY_RETURNS else None


def drawdown_ratio(equity: float, high_water_mark: float) -> float:
    if high_water_mark <= 0:
        return 0.0
    return max(0.0, (high_water_mark - equity) / high_water_mark)


def max_drawdown_ratio(equity: np.ndarray) -> float:
    """The deepest fall from a running peak in a series of equity values."""
    equity = np.asarray(equity, dtype=float)
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(np.max((peaks - equity) / peaks))


def max_pairwise_correlation(prices: np.ndarray, min_returns: int, directions=None) -> float | None:
    """Largest off-diagonal correlation of the positions' own returns (one column per position).

    ``directions`` is +1 for a long and -1 for a short, per column (default: all long): a short
    gains when its price falls, so its returns are the price returns negated. A long/short hedge
    in two markets that move together then reads negative, two longs (or two shorts) positive.
    None with fewer than two columns, fewer than ``min_returns`` returns, or a column that does
    not move (its correlation is undefined).

    >>> prices = np.array([[100.0, 50.0], [101.0, 50.6], [100.5, 50.2], [102.0, 51.1]])
    >>> round(max_pairwise_correlation(prices, 3), 2), round(max_pairwise_correlation(prices, 3, [1, -1]), 2)
    (1.0, -1.0)
    """
    prices = np.asarray(prices, dtype=float)
    if prices.ndim != 2 or prices.shape[1] < 2 or prices.shape[0] - 1 < min_returns:
        return None
    r = np.diff(prices, axis=0) / prices[:-1]
    if directions is not None:
        r = r * np.sign(np.asarray(directions, dtype=float))
    if np.any(np.std(r, axis=0) == 0):
        return None
    corr = np.corrcoef(r, rowvar=False)
    upper = corr[np.triu_indices_from(corr, k=1)]
    return float(np.max(upper))


def liquidation_distance_ratio(mark_price: float, liquidation_price: float | None) -> float | None:
    """How far the mark is from the liquidation price, 0..1 of the mark (TraderLiquidationClose's
    figure); None without a liquidation price or a positive mark.

    >>> liquidation_distance_ratio(100.0, 90.5), liquidation_distance_ratio(0.0, 90.5)
    (0.095, None)
    """
    if liquidation_price is None or mark_price <= 0:
        return None
    return abs(mark_price - liquidation_price) / mark_price


def liquidation_price(entry_price: float, leverage: float, maintenance_margin_ratio: float, long: bool) -> float:
    """Liquidation price of an isolated linear (USDT-margined) perpetual position.

    The position is liquidated when its isolated margin (``entry * qty / leverage``) less the loss
    falls to the maintenance margin (``mmr * entry * qty``, taken on the entry notional):

        long:  liq = entry * (1 - 1/leverage + mmr)
        short: liq = entry * (1 + 1/leverage - mmr)

    >>> liquidation_price(100.0, 10.0, 0.005, long=True)
    90.5
    """
    if long:
        return entry_price * (1.0 - 1.0 / leverage + maintenance_margin_ratio)
    return entry_price * (1.0 + 1.0 / leverage - maintenance_margin_ratio)
