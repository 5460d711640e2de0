"""The risk-limits gate every new order passes before it reaches the broker.

Reduce-only orders (exits, stop-losses) always pass: a limit must never keep a position open.
Every refusal publishes ``RiskRefused``, is counted by reason on the account and logged.

Checks, in order (the first that fails names the reason):
  paused         an operator paused new entries (trader/control.py) until they resume the account
  max_drawdown   the account fell ``max_drawdown_ratio`` below its peak: halted until an operator resumes it
  daily_loss     the UTC day's loss reached ``daily_loss_ratio`` of the day-start equity: halted for the day
  var            the 1-day 99 % VaR, the worse of historical and parametric, is above ``var_usdt`` (only
                 once VaR exists): the very figure TraderVaRAboveLimit compares with the same limit
  leverage       the account's notional after the order would exceed ``max_leverage`` x equity
  position_size  the position's notional after the order would exceed ``max_position_usdt``
  open_positions the order opens a new position while ``max_open_positions`` are open
  margin         the order's initial margin and fee exceed the free margin
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .bus import EventBus
from .events import RiskRefused
from .portfolio import Account
from .vocabulary import RiskRefusalReason, Side

__all__ = ["OrderIntent", "LimitsGate"]

_log = logging.getLogger("trader.limits")


@dataclass(frozen=True)
class OrderIntent:
    """What the gate needs to know about a new order."""

    exchange: str
    symbol: str
    strategy: str
    side: Side
    quantity: float
    price: float  # expected execution price (limit/stop price, or the mid for a market order)
    leverage: float
    reduce_only: bool


class LimitsGate:
    def __init__(self, bus: EventBus, taker_fee_ratio: float) -> None:
        self._bus = bus
        self._fee = taker_fee_ratio

    def check(self, account: Account, intent: OrderIntent, ts: float) -> str | None:
        """None if the order may go; else the refusal reason (already published and counted)."""
        if intent.reduce_only:
            return None
        refusal = self._refusal(account, intent)
        if refusal is None:
            return None
        reason, detail = refusal
        account.risk_refusals[reason] += 1
        self._bus.publish(RiskRefused(account.name, intent.strategy, intent.exchange, intent.symbol, ts, reason, detail))
        _log.info("order refused by risk limit", extra={
            "account": account.name, "strategy": intent.strategy, "exchange": intent.exchange,
            "symbol": intent.symbol, "reason": reason, "detail": detail})
        return reason

    def _refusal(self, account: Account, intent: OrderIntent) -> tuple[RiskRefusalReason, str] | None:
        limits = account.limits
        equity = account.equity()
        if account.paused:
            return "paused", f"new entries paused by {account.paused_by or 'an operator'}"
        if account.halted_drawdown:
            return "max_drawdown", f"trading halted: drawdown reached {limits.max_drawdown_ratio:.0%}"
        if account.daily_loss_halted:
            return "daily_loss", f"trading halted for the day: loss reached {limits.daily_loss_ratio:.0%}"
        var = account.var_usdt
        if var is not None and var > limits.var_usdt:
            return "var", f"1-day VaR {var:,.0f} USDT above limit {limits.var_usdt:,.0f}"
        key = (intent.exchange, intent.symbol)
        signed = intent.quantity if intent.side == "buy" else -intent.quantity
        position = account.positions.get(key)
        current = position.quantity if position else 0.0
        after = current + signed
        mark = account.marks.get(key, intent.price)
        added_notional = max(0.0, abs(after) - abs(current)) * intent.price
        notional_after = account.notional() - abs(current) * mark + abs(after) * mark
        if equity <= 0 or intent.leverage > limits.max_leverage or notional_after > limits.max_leverage * equity:
            return "leverage", f"leverage after order {notional_after / max(equity, 1e-9):.2f} above {limits.max_leverage:g}"
        if abs(after) * intent.price > limits.max_position_usdt:
            return "position_size", f"position {abs(after) * intent.price:,.0f} USDT above {limits.max_position_usdt:,.0f}"
        if position is None and len(account.positions) >= limits.max_open_positions:
            return "open_positions", f"{len(account.positions)} positions open, limit {limits.max_open_positions}"
        required = added_notional / intent.leverage + intent.quantity * intent.price * self._fee
        free = equity - account.margin_used()
        if required > free:
            return "margin", f"needs {required:,.0f} USDT margin, {free:,.0f} free"
        return None
