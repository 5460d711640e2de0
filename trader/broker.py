"""The paper broker: linear USDT-margined perpetuals, isolated margin, filled against the live book.

Order types: ``market``; ``limit`` (takes what crosses, rests the rest); ``post_only`` (rejected
with ``post_only_would_take`` if it would cross); ``stop`` (a stop-market order: triggers when
the mid crosses the stop price, then fills as a market order). Any order may be ``reduce_only``:
it can only shrink the position; its quantity is trimmed to the position, and it is canceled
when the position is gone.

Fills: a taker walks the book's levels from ``MarketState`` (falling back to the best bid/ask),
then pays the configured extra slippage (``PaperConfig.slippage_model``); a resting order fills
at its own price as maker when the opposite best price reaches it. Fees: maker/taker ratios of
the filled notional. A taker fill's slippage (bps, adverse > 0) is measured from the mid when the
order became a taker: its submission, or for a stop the moment it triggered. Funding is paid when a mark price arrives at or after the funding time the
feed announced. A position whose mark crosses its liquidation price is force-closed
(``PositionLiquidated``): its isolated margin is lost.

Every order and cancel goes through the simulated exchange API (``SimulatedExchange``): a
latency drawn from ``[min_latency_ms, max_latency_ms]``, a failure with ``reject_probability``,
recorded in ``ApiStats`` as endpoint ``order`` / ``cancel``. Drills change the latency and error
probability of that API (trader/drills.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Callable

from .api_stats import ApiStats
from .bus import EventBus
from .config import PaperConfig
from .events import (
    FundingPaid, OrderAccepted, OrderCanceled, OrderFilled, OrderRejected, OrderSubmitted, PositionClosed,
    PositionLiquidated,
)
from .limits import LimitsGate, OrderIntent
from .market import MarketState
from .portfolio import Account, ClosedTrade
from .vocabulary import ExitReason, OrderType, RejectReason, Side

__all__ = ["Order", "SimulatedExchange", "PaperBroker", "exit_reason_of"]

_log = logging.getLogger("trader.broker")
_BOOK_DEPTH = 20  # levels walked by a taker fill; beyond them the last level's price is used
_EPS = 1e-12


@dataclass
class Order:
    order_id: str
    account: str
    strategy: str
    exchange: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: float
    price: float | None  # limit or stop price
    reduce_only: bool
    leverage: float
    submitted_at: float
    mid_at_submit: float | None
    filled: float = 0.0
    # The mid when a stop triggered: a stop's slippage is measured from there (the price it became a
    # market order at), not from the mid when it was placed, which may be hours and percent away.
    mid_at_trigger: float | None = None
    avg_price: float = 0.0
    status: str = "pending"  # pending -> open -> filled | canceled | rejected
    triggered: bool = False  # a stop that has become a market order
    cancel_requested: bool = False
    reason: str | None = None
    exit_reason: ExitReason | None = None  # why a fill that closes the position ends it; None: exit_reason_of()

    @property
    def remaining(self) -> float:
        return max(0.0, self.quantity - self.filled)

    @property
    def done(self) -> bool:
        return self.status in ("filled", "canceled", "rejected")


def exit_reason_of(order: Order) -> ExitReason:
    """Why a fill of ``order`` that closes its position ends the round trip (the journal's trades).

    The order's own ``exit_reason`` when set (an operator's close: ``manual``); else a stop order is
    a ``stop``, a reduce-only limit a ``take_profit`` (the strategies' protective exits), and any
    other order the strategy's own decision, ``signal``.
    """
    if order.exit_reason is not None:
        return order.exit_reason
    if order.order_type == "stop":
        return "stop"
    if order.reduce_only and order.order_type in ("limit", "post_only"):
        return "take_profit"
    return "signal"


class SimulatedExchange:
    """The simulated order API shared by every paper account of the process.

    ``latency_range`` (seconds) and ``error_probability`` start from the paper config; drills
    override them for a while.
    """

    def __init__(self, config: PaperConfig, api_stats: ApiStats, seed: int = 0) -> None:
        self.config = config
        self.api_stats = api_stats
        self.rng = random.Random(seed)
        self.latency_range = (config.min_latency_ms / 1000.0, config.max_latency_ms / 1000.0)
        self.error_probability = config.reject_probability

    def draw(self) -> tuple[float, bool]:
        """(latency in seconds, ok) for one request."""
        low, high = self.latency_range
        return self.rng.uniform(low, high), self.rng.random() >= self.error_probability


Listener = Callable[[Order], None]


class PaperBroker:
    """One account's broker. ``submit``/``cancel`` are the only ways to trade."""

    _ids = itertools.count(1)

    def __init__(self, account: Account, market: MarketState, bus: EventBus, exchange: SimulatedExchange,
                 gate: LimitsGate, clock: Callable[[], float] = time.time) -> None:
        self.account = account
        self.market = market
        self.bus = bus
        self.exchange = exchange
        self.config = exchange.config
        self.gate = gate
        self.clock = clock
        self.orders: dict[str, Order] = {}  # open and pending orders
        self._listeners: dict[str, Listener] = {}  # strategy -> called on every order update
        self._funding_due: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (funding ts, rate)
        self._timers: set[asyncio.TimerHandle] = set()

    # --- public -----------------------------------------------------------------------------

    def listen(self, strategy: str, listener: Listener) -> None:
        self._listeners[strategy] = listener

    def submit(self, strategy: str, exchange: str, symbol: str, side: Side, order_type: OrderType,
               quantity: float, price: float | None = None, reduce_only: bool = False,
               leverage: float = 1.0, exit_reason: ExitReason | None = None) -> Order | None:
        """Send an order through the risk gate to the simulated exchange; None if refused.
        ``exit_reason``: why a fill that closes the position ends it (an operator's close: manual)."""
        now = self.clock()
        mid = self.market.mid(exchange, symbol)
        reference = price if price is not None else mid
        if reference is None or quantity <= 0:
            return None  # no market yet: nothing a strategy should have asked for
        if self.gate.check(self.account, OrderIntent(exchange, symbol, strategy, side, quantity, reference,
                                                     leverage, reduce_only), now) is not None:
            return None
        order = Order(f"{self.account.name}-{next(self._ids)}", self.account.name, strategy, exchange, symbol,
                      side, order_type, quantity, price, reduce_only, leverage, now, mid, exit_reason=exit_reason)
        self.orders[order.order_id] = order
        self._count(order, "submitted")
        self.bus.publish(OrderSubmitted(order.order_id, order.account, strategy, exchange, symbol, now, side,
                                        order_type, quantity, price, reduce_only, mid))
        _log.info("order submitted", extra=self._ctx(order, order_type=order_type, side=side,
                                                     quantity=quantity, price=price, reduce_only=reduce_only))
        latency, ok = self.exchange.draw()
        self._later(latency, self._acknowledge, order, latency, ok)
        return order

    def cancel(self, order_id: str, reason: str = "strategy") -> None:
        order = self.orders.get(order_id)
        if order is None or order.done or order.cancel_requested:
            return
        order.cancel_requested = True
        latency, ok = self.exchange.draw()
        self._later(latency, self._cancel_ack, order, latency, ok, reason)

    def cancel_all(self, exchange: str, symbol: str, reason: str = "strategy") -> None:
        for order in list(self.orders.values()):
            if order.exchange == exchange and order.symbol == symbol:
                self.cancel(order.order_id, reason)

    def open_orders(self, strategy: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if strategy is None or o.strategy == strategy]

    def restore(self, order: Order) -> None:
        """Put a resting order back as it was (trader/journal/ at start); new ids follow its id."""
        order.status = "open"
        self.orders[order.order_id] = order
        number = order.order_id.rsplit("-", 1)[-1]
        if number.isdigit():  # ids are "<account>-<n>", one count for every broker of the process
            PaperBroker._ids = itertools.count(max(int(number) + 1, next(PaperBroker._ids)))

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # --- market events (called by the engine) -----------------------------------------------

    def on_market(self, exchange: str, symbol: str, ts: float) -> None:
        """Re-examine resting orders and the mark of (exchange, symbol) after a market update.

        This runs on every market event (tens of thousands a second in a replay), so it reads the
        touch once and hands ``_work`` only the orders it could act on now; a resting order the
        market has not reached costs two comparisons.
        """
        state = self.market.get(exchange, symbol)
        if state is None:
            return  # the feed has not seen this market: no mark, nothing can fill
        bid, ask = state.best_bid(), state.best_ask()
        mid = state.last_price if bid is None or ask is None else (bid + ask) / 2.0  # as SymbolState.mid()
        mark = state.mark_price if state.mark_price is not None else mid  # as MarketState.mark_price()
        if mark is not None:
            account = self.account
            account.update_mark(exchange, symbol, mark, self.clock())
            if account.positions:
                self._check_liquidation(exchange, symbol, mark)
        if not self.orders:
            return
        for order in list(self.orders.values()):
            if order.exchange != exchange or order.symbol != symbol or order.status != "open":
                continue
            # The same conditions as _work's early returns: skip what it would leave resting.
            if order.order_type == "market" or order.triggered:
                pass  # a taker still filling (partial fills): every update may fill more
            elif order.order_type == "stop":
                if mid is None or (mid < order.price if order.side == "buy" else mid > order.price):
                    continue
            elif order.side == "buy":
                if ask is None or ask > order.price:
                    continue
            elif bid is None or bid < order.price:
                continue
            self._work(order)

    def on_mark_price(self, exchange: str, symbol: str, ts: float, mark: float, rate: float | None,
                      next_funding_ts: float | None) -> None:
        """Pay funding when the funding time has passed, then remember the next one."""
        key = (exchange, symbol)
        due = self._funding_due.get(key)
        if due is not None and ts >= due[0]:
            del self._funding_due[key]
            amount = self.account.apply_funding(exchange, symbol, due[1], mark, self.clock())
            if amount is not None:
                self.bus.publish(FundingPaid(self.account.name, exchange, symbol, ts, due[1], amount))
                _log.info("funding paid", extra={"account": self.account.name, "exchange": exchange,
                                                 "symbol": symbol, "rate": due[1], "amount_usdt": round(amount, 6)})
        if rate is not None and next_funding_ts is not None and next_funding_ts > ts:
            self._funding_due[key] = (next_funding_ts, rate)
        self.on_market(exchange, symbol, ts)

    # --- order lifecycle --------------------------------------------------------------------

    def _acknowledge(self, order: Order, latency: float, ok: bool) -> None:
        self.exchange.api_stats.record(order.exchange, "order", ok, latency, None if ok else "api_error")
        if not ok:
            self._reject(order, "api_error")
            return
        now = self.clock()
        order.status = "open"
        self.bus.publish(OrderAccepted(order.order_id, order.account, order.exchange, order.symbol, now, latency))
        _log.debug("order accepted", extra=self._ctx(order, latency_seconds=round(latency, 4)))
        if order.reduce_only and not self._trim_reduce_only(order):
            self._reject(order, "reduce_only")
            return
        if not order.reduce_only and not self._margin_ok(order):
            self._reject(order, "insufficient_margin")
            return
        if order.order_type == "post_only" and self._crosses(order):
            self._reject(order, "post_only_would_take")
            return
        self._work(order, arriving=True)

    def _work(self, order: Order, arriving: bool = False) -> None:
        """Fill what the market allows now; the rest keeps resting.

        ``on_market`` skips the orders this would return early for: keep the two in step."""
        if self.account.paused and not order.reduce_only:
            # An entry sent (or resting) before an operator's pause never fills after it, even
            # while its cancel is in flight: a pause means no new position, at once.
            self._finish_cancel(order, "paused")
            return
        if order.order_type == "market" or order.triggered:
            limit, liquidity = None, "taker"
        elif order.order_type == "stop":
            mid = self.market.mid(order.exchange, order.symbol)
            if mid is None or (mid < order.price if order.side == "buy" else mid > order.price):
                return
            order.triggered, order.mid_at_trigger = True, mid
            _log.info("stop triggered", extra=self._ctx(order, price=order.price, mid=mid))
            limit, liquidity = None, "taker"
        elif not self._crosses(order):
            return
        elif order.order_type == "limit" and arriving:
            limit, liquidity = order.price, "taker"  # marketable on arrival: taker up to the limit
        else:
            limit, liquidity = order.price, "maker"
        if order.reduce_only and not self._trim_reduce_only(order):
            self._finish_cancel(order, "reduce_only_position_closed")
            return
        if liquidity == "taker":
            self._take(order, limit)
        else:
            self._make(order)

    def _crosses(self, order: Order) -> bool:
        if order.side == "buy":
            ask = self.market.best_ask(order.exchange, order.symbol)
            return ask is not None and ask <= order.price
        bid = self.market.best_bid(order.exchange, order.symbol)
        return bid is not None and bid >= order.price

    def _fill_quantity(self, order: Order) -> float:
        """The whole remainder, or half of it when the simulated exchange fills partially."""
        if self.config.partial_fill_probability > 0 and self.exchange.rng.random() < self.config.partial_fill_probability:
            return order.remaining / 2.0
        return order.remaining

    def _make(self, order: Order) -> None:
        self._fill(order, self._fill_quantity(order), order.price, "maker")

    def _take(self, order: Order, limit: float | None) -> None:
        qty = self._fill_quantity(order)
        price, touch_qty = self._walk(order, qty, limit)
        if price is None:
            return  # no price on that side yet; try again on the next update
        q = min(10.0, qty / touch_qty) if touch_qty > 0 else 10.0
        model = self.config.slippage_model
        extra = self.config.base_slippage_ratio * (1.0 if model == "fixed" else q if model == "linear" else math.sqrt(q))
        price = price * (1.0 + extra) if order.side == "buy" else price * (1.0 - extra)
        if limit is not None:
            price = min(price, limit) if order.side == "buy" else max(price, limit)
        self._fill(order, qty, price, "taker")

    def _walk(self, order: Order, qty: float, limit: float | None) -> tuple[float | None, float]:
        """VWAP of ``qty`` walked through the opposite side (bounded by ``limit``), and the touch size."""
        symbol_state = self.market.get(order.exchange, order.symbol)
        if symbol_state is None:
            return None, 0.0
        if order.side == "buy":
            best, best_qty, side = symbol_state.best_ask(), symbol_state.ask_quantity, "ask"
        else:
            best, best_qty, side = symbol_state.best_bid(), symbol_state.bid_quantity, "bid"
        if best is None:
            return None, 0.0
        worse = (lambda p: p >= best) if side == "ask" else (lambda p: p <= best)
        levels = [(p, q) for p, q in symbol_state.book.levels(side, _BOOK_DEPTH) if worse(p)]
        if not levels or levels[0][0] != best:
            levels.insert(0, (best, best_qty if best_qty else math.inf))
        if limit is not None:
            levels = [(p, q) for p, q in levels if (p <= limit if side == "ask" else p >= limit)] or levels[:1]
        left, cost = qty, 0.0
        for price, available in levels:
            take = min(left, available)
            cost += take * price
            left -= take
            if left <= _EPS:
                break
        if left > _EPS:
            cost += left * levels[-1][0]  # deeper than the book we hold: the last level's price
        return cost / qty, levels[0][1]

    def _fill(self, order: Order, qty: float, price: float, liquidity: str) -> None:
        now = self.clock()
        rate = self.config.maker_fee_ratio if liquidity == "maker" else self.config.taker_fee_ratio
        fee = qty * price * rate
        slippage = None
        reference = order.mid_at_trigger or order.mid_at_submit  # the mid when it became a taker
        if liquidity == "taker" and reference:
            adverse = (price - reference) if order.side == "buy" else (reference - price)
            slippage = adverse / reference * 1e4
        order.avg_price = (order.avg_price * order.filled + price * qty) / (order.filled + qty)
        order.filled += qty
        complete = order.remaining <= _EPS * max(1.0, order.quantity)
        if complete:
            order.filled = order.quantity
        signed = qty if order.side == "buy" else -qty
        self.bus.publish(OrderFilled(order.order_id, order.account, order.strategy, order.exchange, order.symbol,
                                     now, order.side, order.order_type, price, qty, fee, liquidity, slippage,
                                     order.remaining))
        _log.info("order filled", extra=self._ctx(order, side=order.side, price=price, quantity=qty, fee=fee,
                                                  liquidity=liquidity, slippage_bps=slippage,
                                                  remaining=order.remaining))
        position_strategy = self.account.positions.get((order.exchange, order.symbol))
        owner = position_strategy.strategy if position_strategy else order.strategy
        closed = self.account.apply_fill(order.exchange, order.symbol, order.strategy, signed, price, fee,
                                         order.leverage, self.config.maintenance_margin_ratio, now)
        if complete:
            order.status = "filled"
            self._count(order, "filled")
            self.orders.pop(order.order_id, None)
        if closed is not None:
            self._publish_closed(closed, exit_reason_of(order))
            _log.info("position closed", extra={"account": order.account, "strategy": owner,
                                                "exchange": order.exchange, "symbol": order.symbol,
                                                "realized_pnl_usdt": round(closed.realized_pnl, 4),
                                                "held_seconds": round(closed.held_seconds, 1)})
            self._drop_reduce_only(order.exchange, order.symbol)
        self._notify(order)

    def _reject(self, order: Order, reason: RejectReason) -> None:
        order.status, order.reason = "rejected", reason
        self.orders.pop(order.order_id, None)
        self._count(order, "rejected")
        self.account.rejections[(order.exchange, reason)] += 1
        self.bus.publish(OrderRejected(order.order_id, order.account, order.exchange, order.symbol, self.clock(),
                                       order.order_type, reason))
        _log.info("order rejected", extra=self._ctx(order, reason=reason, order_type=order.order_type))
        self._notify(order)

    def _cancel_ack(self, order: Order, latency: float, ok: bool, reason: str) -> None:
        self.exchange.api_stats.record(order.exchange, "cancel", ok, latency, None if ok else "api_error")
        order.cancel_requested = False
        if order.done:
            return  # filled or rejected while the cancel was in flight
        if not ok:
            _log.warning("cancel failed", extra=self._ctx(order, reason="api_error"))
            return
        self._finish_cancel(order, reason)

    def _finish_cancel(self, order: Order, reason: str) -> None:
        if order.done:
            return
        order.status, order.reason = "canceled", reason
        self.orders.pop(order.order_id, None)
        self._count(order, "canceled")
        self.bus.publish(OrderCanceled(order.order_id, order.account, order.exchange, order.symbol, self.clock(),
                                       order.order_type, reason))
        _log.info("order canceled", extra=self._ctx(order, reason=reason, order_type=order.order_type))
        self._notify(order)

    def _drop_reduce_only(self, exchange: str, symbol: str) -> None:
        """The position is gone: its resting reduce-only orders are void (as on the exchanges)."""
        for other in list(self.orders.values()):
            if other.exchange == exchange and other.symbol == symbol and other.reduce_only and other.status == "open":
                self._finish_cancel(other, "reduce_only_position_closed")

    # --- checks -----------------------------------------------------------------------------

    def _trim_reduce_only(self, order: Order) -> bool:
        position = self.account.positions.get((order.exchange, order.symbol))
        if position is None or (position.quantity > 0) == (order.side == "buy"):
            return False
        order.quantity = min(order.quantity, order.filled + abs(position.quantity))
        return order.remaining > _EPS

    def _margin_ok(self, order: Order) -> bool:
        reference = order.price or self.market.mid(order.exchange, order.symbol) or 0.0
        required = order.remaining * reference * (1.0 / order.leverage + self.config.taker_fee_ratio)
        return required <= self.account.equity() - self.account.margin_used()

    def _check_liquidation(self, exchange: str, symbol: str, mark: float) -> None:
        position = self.account.positions.get((exchange, symbol))
        if position is None:
            return
        liq = position.liquidation_price
        if (position.quantity > 0 and mark > liq) or (position.quantity < 0 and mark < liq):
            return
        now = self.clock()
        position, loss, trade = self.account.liquidate(exchange, symbol, now)
        self.bus.publish(PositionLiquidated(self.account.name, exchange, symbol, now, mark, abs(position.quantity), loss))
        _log.error("position liquidated", extra={"account": self.account.name, "exchange": exchange, "symbol": symbol,
                                                 "strategy": position.strategy, "mark_price": mark,
                                                 "liquidation_price": liq, "loss_usdt": round(loss, 2)})
        self._publish_closed(trade, "liquidation")
        self._drop_reduce_only(exchange, symbol)

    # --- plumbing ---------------------------------------------------------------------------

    def _publish_closed(self, trade: ClosedTrade, exit_reason: ExitReason) -> None:
        self.bus.publish(PositionClosed(self.account.name, trade.strategy, trade.exchange, trade.symbol,
                                        trade.closed_at, trade.realized_pnl, trade.held_seconds, exit_reason, trade))

    def _count(self, order: Order, status: str) -> None:
        self.account.orders[(order.exchange, order.symbol, order.side, status)] += 1
        self.account.orders_by_type[(order.exchange, order.order_type, status)] += 1

    def _notify(self, order: Order) -> None:
        listener = self._listeners.get(order.strategy)
        if listener is not None:
            listener(order)

    def _later(self, delay: float, callback: Callable, *args: object) -> None:
        """Run ``callback`` after the simulated latency on the running loop; at once without one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            callback(*args)
            return
        handle: asyncio.TimerHandle

        def run() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = loop.call_later(delay, run)
        self._timers.add(handle)

    @staticmethod
    def _ctx(order: Order, **fields: object) -> dict[str, object]:
        return {"account": order.account, "exchange": order.exchange, "symbol": order.symbol,
                "order_id": order.order_id, "strategy": order.strategy, **fields}
