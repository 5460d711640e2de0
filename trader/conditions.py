"""When an alert's condition first holds inside the trader: the start of every alert latency.

Prometheus sees a condition a scrape later, fires after the rule's ``for``, Alertmanager sends
after its ``group_wait``. To measure that chain (benchmarks/alert_latency.py) its start must be
recorded where the condition happens. ``ConditionWatch.check`` runs after every equity update of
a paper account (``Account.on_equity``: a held position's new mark, a fill, funding) for

  drawdown              drawdown from the high-water mark >= ``drawdown_ratio`` (TraderDrawdownHigh)
  halted                the account's risk gate halted new orders (TraderTradingHalted)
  liquidation_distance  a position's mark within ``liquidation_distance_ratio`` of its
                        liquidation price (TraderLiquidationClose)

and, when one goes from not holding to holding, publishes ``ConditionFirstHeld`` on the bus and
logs ``condition first held`` with the exact ``held_at`` timestamp. A condition that clears is
re-armed, so each episode is recorded once. The exporters turn the event into
``trader_condition_first_held_timestamp_seconds``; this module knows nothing of Prometheus.

    >>> from trader.bus import EventBus
    >>> from trader.config import AlertConditionsConfig, LimitsConfig, RiskConfig
    >>> from trader.portfolio import Account
    >>> bus, seen = EventBus(), []
    >>> bus.subscribe(ConditionFirstHeld, seen.append)
    >>> account = Account("main", 10_000.0, LimitsConfig(), RiskConfig(), (), 0.0)
    >>> watch = ConditionWatch(bus, AlertConditionsConfig(drawdown_ratio=0.10), clock=lambda: 42.0)
    >>> account.balance = 8_900.0          # 11 % under the high-water mark
    >>> watch.check(account); watch.check(account)
    >>> [(e.condition, e.ts, round(e.value, 2)) for e in seen]
    [('drawdown', 42.0, 0.11)]
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from trader import risk
from trader.bus import EventBus
from trader.config import AlertConditionsConfig
from trader.events import ConditionFirstHeld
from trader.portfolio import Account
from trader.vocabulary import Condition

__all__ = ["ConditionWatch"]

_log = logging.getLogger("trader.conditions")


class ConditionWatch:
    def __init__(self, bus: EventBus, config: AlertConditionsConfig, clock: Callable[[], float] = time.time) -> None:
        self.bus = bus
        self.config = config
        self.clock = clock
        self._held: set[tuple[str, Condition]] = set()  # (account, condition) holding now

    def check(self, account: Account) -> None:
        """Compare ``account``'s figures with the limits; cheap enough for every held position's mark."""
        limits = self.config
        drawdown = risk.drawdown_ratio(account.equity(), account.high_water_mark)
        self._update(account.name, "drawdown", drawdown >= limits.drawdown_ratio, drawdown, limits.drawdown_ratio)
        halted = account.trading_halted
        self._update(account.name, "halted", halted, 1.0 if halted else 0.0, 0.0)
        nearest = self._nearest_liquidation(account)
        self._update(account.name, "liquidation_distance",
                     nearest is not None and nearest < limits.liquidation_distance_ratio,
                     nearest if nearest is not None else 1.0, limits.liquidation_distance_ratio)

    @staticmethod
    def _nearest_liquidation(account: Account) -> float | None:
        distances = [risk.liquidation_distance_ratio(account.marks.get(key, position.entry_price),
                                                     position.liquidation_price)
                     for key, position in account.positions.items()]
        return min((d for d in distances if d is not None), default=None)

    def _update(self, account: str, condition: Condition, holds: bool, value: float, threshold: float) -> None:
        key = (account, condition)
        if not holds:
            self._held.discard(key)
            return
        if key in self._held:
            return
        self._held.add(key)
        now = self.clock()
        self.bus.publish(ConditionFirstHeld(account, condition, now, value, threshold))
        _log.info("condition first held", extra={"account": account, "condition": condition, "held_at": now,
                                                 "value": round(value, 6), "threshold": threshold})
