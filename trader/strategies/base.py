"""What every strategy shares: price bars, signals, entries, protective exits and timeouts.

A strategy samples the mid of each of its (exchange, symbol) pairs once per ``bar_seconds`` of
market time (the events' own timestamps, so a fast replay trades like a slow one), asks its
``decide()`` for a side, and trades a symbol only while it is flat or holds that symbol's
position itself (one-way mode: the position belongs to the strategy that opened it).

Once an entry order is done and a position exists, it places two reduce-only exits: a stop
(stop-loss, ``stop_loss_ratio`` from the entry) and a limit (take-profit, ``take_profit_ratio``).
A resting entry older than ``entry_timeout_seconds`` is canceled; a position older than
``max_hold_seconds`` is closed with a reduce-only market order; with ``exit_on_reversal`` a signal
for the other side closes it at market too. So every order type and status happens in a short
run. A strategy leaves a symbol alone while another strategy's entry is working there (one-way
mode: whichever filled first would own the position the other's fill then closes).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..broker import Order, PaperBroker
from ..bus import EventBus
from ..config import StrategyConfig
from ..events import Signal
from ..market import MarketState
from ..portfolio import Account
from ..vocabulary import MarketKey, OrderType, Side

__all__ = ["Strategy", "StrategyContext"]

_log = logging.getLogger("trader.strategy")
Key = MarketKey


@dataclass(frozen=True)
class StrategyContext:
    account: Account
    broker: PaperBroker
    market: MarketState
    bus: EventBus
    clock: Callable[[], float]


@dataclass
class _SymbolState:
    bars: deque
    last_bar_ts: float = float("-inf")
    entry: Order | None = None
    exits: list[Order] = field(default_factory=list)
    exit_order: Order | None = None  # a time or signal exit in flight
    cooldown_until: float = float("-inf")


class Strategy:
    kind = "base"

    def __init__(self, config: StrategyConfig, context: StrategyContext, keys: list[Key]) -> None:
        self.config = config
        self.name = config.name
        self.ctx = context
        self.keys = list(keys)
        self._state = {key: _SymbolState(deque(maxlen=config.lookback_bars + 1)) for key in self.keys}
        self._entries = 0
        # The heartbeat the exporters read (trader_strategy_last_*_timestamp_seconds): a strategy
        # alive but not trading shows as a stale evaluation or a long time since its last order.
        self._stats = context.account.stats(self.name)
        self._stats.last_order_ts = context.clock()  # since start, until the first order
        # Set by the strategy-stall drill: evaluation stops while market data keeps flowing, as
        # when a strategy hangs on a lock or a slow call (trader/drills.py).
        self.stalled = False
        context.broker.listen(self.name, self.on_order)
        for side in ("buy", "sell"):
            context.account.stats(self.name).signals.setdefault(side, 0)

    # --- to implement -----------------------------------------------------------------------

    def decide(self, bars: deque) -> tuple[Side, float] | None:
        """(side, strength) when the bars call for a position, else None."""
        raise NotImplementedError

    def entry_order(self, key: Key, side: Side) -> tuple[OrderType, float | None]:
        """(order type, price) of the entry for ``side``."""
        raise NotImplementedError

    # --- market -----------------------------------------------------------------------------

    def on_price(self, key: Key, ts: float) -> None:
        state = self._state.get(key)
        if state is None or ts - state.last_bar_ts < self.config.bar_seconds or self.stalled:
            return
        mid = self.ctx.market.mid(*key)
        if mid is None:
            return
        state.last_bar_ts = ts
        self._stats.last_evaluation[key] = self.ctx.clock()  # once per bar, not per message
        state.bars.append(mid)
        if len(state.bars) < state.bars.maxlen:
            return
        decision = self.decide(state.bars)
        if decision is not None:
            self._act(key, state, decision[0], decision[1], ts)

    def _act(self, key: Key, state: _SymbolState, side: Side, strength: float, ts: float) -> None:
        account = self.ctx.account
        position = account.positions.get(key)
        if (position is not None and position.strategy != self.name) or account.reserved.get(key, self.name) != self.name:
            return  # another strategy's (or a drill's) position
        if any(o.strategy != self.name and not o.reduce_only and (o.exchange, o.symbol) == key
               for o in self.ctx.broker.open_orders()):
            # Another strategy's entry is working here: in one-way mode our fill would open the
            # position it is about to own, or its fill would close ours (a mean reversion entry
            # resting against a momentum move fills exactly when momentum has bought).
            return
        if state.entry is not None or state.exit_order is not None:
            return
        now = self.ctx.clock()
        if position is not None:
            if self.config.exit_on_reversal and (position.quantity > 0) != (side == "buy"):
                self._exit(key, state, "signal_reversed")
            return
        if now < state.cooldown_until:
            return
        self._signal(key, side, strength, ts)
        mid = self.ctx.market.mid(*key)
        order_type, price = self.entry_order(key, side)
        order = self.ctx.broker.submit(self.name, key[0], key[1], side, order_type, self.config.order_usdt / mid,
                                       price, leverage=self.config.leverage)
        if order is None:  # refused by a risk limit: do not ask again on every bar
            state.cooldown_until = now + self.config.entry_timeout_seconds
            return
        self._stats.last_order_ts = now
        self._entries += 1
        state.entry = order

    def _signal(self, key: Key, side: Side, strength: float, ts: float) -> None:
        self.ctx.account.stats(self.name).signals[side] += 1
        self.ctx.bus.publish(Signal(self.ctx.account.name, self.name, key[0], key[1], ts, side, strength))
        _log.debug("signal", extra={"account": self.ctx.account.name, "strategy": self.name, "exchange": key[0],
                                    "symbol": key[1], "side": side, "strength": round(strength, 3)})

    # --- orders -----------------------------------------------------------------------------

    def on_order(self, order: Order) -> None:
        key = (order.exchange, order.symbol)
        state = self._state.get(key)
        if state is None:
            return
        if state.entry is order and order.done:
            state.entry = None
            self._protect(key, state)
        elif state.exit_order is order and order.done:
            state.exit_order = None
        if order in state.exits and order.done:
            state.exits.remove(order)

    def adopt(self, order: Order) -> None:
        """Take back a resting order restored from the journal: an exit protects the position again,
        an entry times out as usual."""
        state = self._state.get((order.exchange, order.symbol))
        if state is None:
            return
        if order.reduce_only:
            state.exits.append(order)
        elif state.entry is None:
            state.entry = order

    def _protect(self, key: Key, state: _SymbolState) -> None:
        """Stop-loss and take-profit exits for the position the entry built."""
        position = self.ctx.account.positions.get(key)
        if position is None or position.strategy != self.name:
            return
        long = position.quantity > 0
        exit_side: Side = "sell" if long else "buy"
        qty = abs(position.quantity)
        sl, tp = self.config.stop_loss_ratio, self.config.take_profit_ratio
        stop_price = position.entry_price * (1 - sl if long else 1 + sl)
        tp_price = position.entry_price * (1 + tp if long else 1 - tp)
        broker = self.ctx.broker
        for order_type, price in (("stop", stop_price), ("limit", tp_price)):
            order = broker.submit(self.name, key[0], key[1], exit_side, order_type, qty, price, reduce_only=True,
                                  leverage=self.config.leverage)
            if order is not None:
                state.exits.append(order)
                self._stats.last_order_ts = self.ctx.clock()

    def _exit(self, key: Key, state: _SymbolState, why: str) -> None:
        position = self.ctx.account.positions.get(key)
        if position is None:
            return
        for order in list(state.exits):
            self.ctx.broker.cancel(order.order_id, "replaced_by_exit")
        side: Side = "sell" if position.quantity > 0 else "buy"
        _log.info("closing position", extra={"account": self.ctx.account.name, "strategy": self.name,
                                             "exchange": key[0], "symbol": key[1], "reason": why})
        state.exit_order = self.ctx.broker.submit(self.name, key[0], key[1], side, "market", abs(position.quantity),
                                                  reduce_only=True, leverage=self.config.leverage)
        if state.exit_order is not None:
            self._stats.last_order_ts = self.ctx.clock()

    # --- housekeeping -----------------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        """Cancel stale entries and close positions held too long (called about once a second)."""
        for key, state in self._state.items():
            entry = state.entry
            if entry is not None and entry.status == "open" and not entry.cancel_requested \
                    and now - entry.submitted_at > self.config.entry_timeout_seconds:
                self.ctx.broker.cancel(entry.order_id, "entry_timeout")
            position = self.ctx.account.positions.get(key)
            if position is not None and position.strategy == self.name and state.exit_order is None \
                    and state.entry is None and now - position.opened_at > self.config.max_hold_seconds:
                self._exit(key, state, "max_hold")
