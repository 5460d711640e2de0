"""Drawdown: how far equity stands below its running peak, as a ratio of that peak.

    >>> drawdown_series([100.0, 90.0, 120.0, 96.0], peak_before=110.0)
    [0.09090909090909091, 0.18181818181818182, 0.0, 0.2]
    >>> max_drawdown([100.0, 90.0, 120.0, 96.0], peak_before=110.0)
    0.2
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["drawdown_series", "max_drawdown"]


def drawdown_series(equity: Sequence[float], peak_before: float | None = None) -> list[float]:
    """``(peak - equity) / peak`` at each point, the peak being the highest equity so far,
    starting from ``peak_before`` (the high-water mark before the first point, if any)."""
    peak = peak_before if peak_before is not None and peak_before > 0 else None
    out = []
    for value in equity:
        peak = value if peak is None or value > peak else peak
        out.append((peak - value) / peak if peak > 0 else 0.0)
    return out


def max_drawdown(equity: Sequence[float], peak_before: float | None = None) -> float | None:
    """The deepest drawdown of ``equity`` (None for no points)."""
    series = drawdown_series(equity, peak_before)
    return max(series) if series else None
