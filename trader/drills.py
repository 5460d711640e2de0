"""Drills: make a real failure happen through the real code path, so its alerts can be seen firing.

A drill runs only on the sim feed. The trader first runs normally for ``delay_seconds`` (a healthy
baseline for Prometheus), then the condition lasts ``duration_seconds`` (3 minutes by default,
more than the alerts' ``for:``), then it ends and ``DrillEnded`` is published.

  crash        The drill opens a leveraged long (``drill`` strategy, through the risk gate and the
               broker like any order), then the sim feed's ``shock()`` drops every price by
               ``crash_drop_ratio`` (35 %) over ``crash_over_seconds``. The leverage is chosen so
               the liquidation price sits 2.5 % under the post-crash price: the account ends more
               than 20 % under its peak, halted by its drawdown limit, with the position within
               5 % of liquidation. Nothing closes the position but the drill's own reduce-only exit
               at the end.
  feed-outage  The sim feed's ``pause()`` stops market data: the feed is disconnected.
  api-errors   The simulated exchange API fails ``api_error_probability`` (40 %) of requests: orders
               are rejected with reason ``api_error``.
  latency      Order and cancel round trips take ``latency_seconds`` (1.2-2.0 s).
  strategy-stall
               The first account's strategies stop evaluating (as when one hangs on a lock or a
               slow call) while market data keeps flowing and nothing is halted: alive but not
               trading. Their heartbeat goes stale and they place no order.

The API drills keep requests flowing whatever the strategies do (the default ones hold a
position for up to 45 minutes and may place nothing for a while): every ``PROBE_SECONDS`` the
drill places a small post-only buy 1 % under the bid on the first account's first symbol, which
rests and never fills, and cancels the one before. Each goes through the risk gate, the
simulated API and the broker like any order, so it fails or waits as the drill says.

    drill = Drill("latency", config.drill, DrillContext(...))
    await drill.run()          # returns when the drill has ended
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from .broker import PaperBroker, SimulatedExchange
from .bus import EventBus
from .config import DrillConfig
from .events import DrillEnded, DrillStarted

__all__ = ["DRILLS", "Drill", "DrillContext", "crash_leverage"]

DRILLS = ("crash", "feed-outage", "api-errors", "latency", "strategy-stall")
DRILL_STRATEGY = "drill"
PROBE_SECONDS = 1.0  # one probe order (and one cancel) a second: 600 requests in a 5-minute window
_PROBE_USDT = 20.0  # its notional: small enough that no limit or margin check refuses it
_PROBE_DEPTH = 0.01  # under the bid: a post-only order that rests and never fills
# How far under the post-crash price the crash drill puts its liquidation price: inside the 5 %
# the liquidation alert watches, with room for the sim's noise so the position is not liquidated.
_LIQUIDATION_MARGIN = 0.025
_log = logging.getLogger("trader.drills")


def crash_leverage(drop_ratio: float, maintenance_margin_ratio: float) -> float:
    """Leverage whose long liquidation price is ``_LIQUIDATION_MARGIN`` under ``entry * (1 - drop)``.

    From liq = entry * (1 - 1/L + mmr) = entry * (1 - drop) * (1 - margin):

    >>> round(crash_leverage(0.35, 0.005), 3)
    2.694
    """
    return 1.0 / (1.0 + maintenance_margin_ratio - (1.0 - drop_ratio) * (1.0 - _LIQUIDATION_MARGIN))


@dataclass
class DrillContext:
    bus: EventBus
    feeds: Sequence[object]  # the sim feeds: ``shock(symbol=None, drop_ratio, over_seconds)``, ``pause(seconds)``
    exchange: SimulatedExchange
    brokers: Sequence[PaperBroker]  # the crash drill trades on the first account
    symbols: Sequence[tuple[str, str]]  # the first account's (exchange, symbol) pairs
    clock: Callable[[], float] = time.time
    strategies: Sequence[object] = ()  # the first account's strategies (``stalled``): the strategy-stall drill


class Drill:
    def __init__(self, name: str, config: DrillConfig, context: DrillContext) -> None:
        if name not in DRILLS:
            raise ValueError(f"unknown drill {name!r}: expected one of {', '.join(DRILLS)}")
        self.name = name
        self.config = config
        self.ctx = context
        self.active = False
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._log = {"drill": name}

    async def run(self) -> None:
        await asyncio.sleep(self.config.delay_seconds)
        restore = await self._start()
        try:
            await asyncio.sleep(self._condition_seconds())
        finally:
            restore()
            self._end()

    def _condition_seconds(self) -> float:
        if self.name == "crash":  # the fall itself, then the condition for the full duration
            return self.config.crash_over_seconds + self.config.duration_seconds
        return self.config.duration_seconds

    def _begin(self, **fields: object) -> None:
        self.active = True
        self.started_at = self.ctx.clock()
        self.ctx.bus.publish(DrillStarted(self.name, self.started_at))
        _log.warning("drill started", extra={**self._log, **fields})

    def _end(self) -> None:
        if not self.active:
            return
        self.active = False
        self.ended_at = self.ctx.clock()
        self.ctx.bus.publish(DrillEnded(self.name, self.ended_at))
        _log.warning("drill ended", extra=self._log)

    async def _start(self) -> Callable[[], None]:
        exchange = self.ctx.exchange
        if self.name == "api-errors":
            before = exchange.error_probability
            exchange.error_probability = self.config.api_error_probability
            self._begin(error_probability=self.config.api_error_probability, seconds=self.config.duration_seconds)
            stop_probing = self._start_probing()
            return lambda: (stop_probing(), setattr(exchange, "error_probability", before))
        if self.name == "latency":
            before_range = exchange.latency_range
            exchange.latency_range = tuple(self.config.latency_seconds)  # type: ignore[assignment]
            self._begin(latency_seconds=list(self.config.latency_seconds), seconds=self.config.duration_seconds)
            stop_probing = self._start_probing()
            return lambda: (stop_probing(), setattr(exchange, "latency_range", before_range))
        if self.name == "strategy-stall":
            strategies = list(self.ctx.strategies)
            for strategy in strategies:
                strategy.stalled = True
            self._begin(strategies=",".join(getattr(s, "name", "?") for s in strategies),
                        seconds=self.config.duration_seconds)

            def resume() -> None:
                for strategy in strategies:
                    strategy.stalled = False

            return resume
        if self.name == "feed-outage":
            self._begin(seconds=self.config.duration_seconds)
            for feed in self.ctx.feeds:
                feed.pause(self.config.duration_seconds)
            return lambda: None
        return await self._start_crash()

    # --- the API drills' probe orders ---------------------------------------------------------

    def _start_probing(self) -> Callable[[], None]:
        """Place a probe order every PROBE_SECONDS, cancelling the previous one; returns the stop."""
        broker = self.ctx.brokers[0] if self.ctx.brokers else None
        if broker is None or not self.ctx.symbols:
            return lambda: None
        exchange, symbol = self.ctx.symbols[0]
        placed: list = []

        async def probe() -> None:
            while True:
                for order in placed:
                    broker.cancel(order.order_id, reason="drill")
                placed.clear()
                bid = broker.market.best_bid(exchange, symbol)
                if bid:
                    price = bid * (1.0 - _PROBE_DEPTH)
                    order = broker.submit(DRILL_STRATEGY, exchange, symbol, "buy", "post_only", _PROBE_USDT / price,
                                          price, leverage=1.0)
                    if order is not None:
                        placed.append(order)
                await asyncio.sleep(PROBE_SECONDS)

        task = asyncio.ensure_future(probe())

        def stop() -> None:
            task.cancel()
            for order in placed:
                broker.cancel(order.order_id, reason="drill")

        return stop

    # --- crash --------------------------------------------------------------------------------

    async def _start_crash(self) -> Callable[[], None]:
        broker = self.ctx.brokers[0]
        account = broker.account
        exchange, symbol = self.ctx.symbols[0]
        key = (exchange, symbol)
        # Take the symbol over: keep strategies off it, cancel its orders and close another
        # strategy's position, until nothing is left in flight (a late entry would otherwise fill
        # into the drill's position). Cancels that fail (simulated API errors) are sent again.
        account.reserved[key] = DRILL_STRATEGY
        deadline = time.monotonic() + 10.0
        closing = None
        while time.monotonic() < deadline:
            broker.cancel_all(exchange, symbol, reason="drill")
            position = account.positions.get(key)
            if position is not None and (closing is None or closing.done):
                closing = broker.submit(DRILL_STRATEGY, exchange, symbol, "sell" if position.quantity > 0 else "buy",
                                        "market", abs(position.quantity), reduce_only=True,
                                        leverage=max(1.0, position.leverage))
            in_flight = any(o.exchange == exchange and o.symbol == symbol and o is not closing
                            for o in broker.open_orders())
            if position is None and not in_flight:
                break
            await asyncio.sleep(0.05)
        mid = broker.market.mid(exchange, symbol)
        drop = self.config.crash_drop_ratio
        leverage = crash_leverage(drop, broker.config.maintenance_margin_ratio)
        limits = account.limits
        notional = 0.95 * min(limits.max_position_usdt, limits.max_leverage * account.equity() - account.notional())
        for _attempt in range(3):  # the simulated API may reject an order (api_error): try again
            order = None
            if mid is not None and notional > 0:
                order = broker.submit(DRILL_STRATEGY, exchange, symbol, "buy", "market", notional / mid,
                                      leverage=leverage)
            if order is None:
                _log.error("crash drill could not open its position (no price or refused by a limit)",
                           extra={**self._log, "exchange": exchange, "symbol": symbol})
                break
            await self._wait(lambda: order.done, 10.0)
            if order.status == "filled":
                break
        self._begin(exchange=exchange, symbol=symbol, drop_ratio=drop, over_seconds=self.config.crash_over_seconds,
                    leverage=round(leverage, 3), notional_usdt=round(notional, 2))
        for feed in self.ctx.feeds:
            feed.shock(symbol=None, drop_ratio=drop, over_seconds=self.config.crash_over_seconds)

        def close_position() -> None:
            account.reserved.pop(key, None)
            held = account.positions.get(key)
            if held is not None and held.strategy == DRILL_STRATEGY:
                broker.submit(DRILL_STRATEGY, exchange, symbol, "sell", "market", abs(held.quantity),
                              reduce_only=True, leverage=leverage)

        return close_position

    @staticmethod
    async def _wait(done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
