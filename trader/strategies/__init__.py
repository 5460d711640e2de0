"""Strategies: each turns market prices into Signals and orders for one account.

``make_strategy(config, ...)`` builds the strategy named by ``config.type``.
"""

from __future__ import annotations

from .base import Strategy, StrategyContext
from .mean_reversion import MeanReversion
from .momentum import Momentum

__all__ = ["Strategy", "StrategyContext", "Momentum", "MeanReversion", "make_strategy", "STRATEGY_TYPES"]

STRATEGY_TYPES = {"momentum": Momentum, "mean_reversion": MeanReversion}


def make_strategy(config, context: StrategyContext, keys) -> Strategy:
    return STRATEGY_TYPES[config.type](config, context, keys)
