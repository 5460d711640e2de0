"""Put a saved account back into the live objects at start: ``restore_account(...)``.

The account takes the journal's money and history (balance, cumulative realised PnL, fees and
funding, high-water mark, max drawdown, its UTC day and day-start equity, halts and pause,
closed-trade totals per strategy, daily returns), its positions (with their fees, funding and
realised PnL so far) and the journal's last marks; the broker gets the resting orders back and
each strategy adopts its own. The account keeps the journal's day: the caller's first
``track_equity(now)`` rolls it to today if the trader was down over midnight, which closes that
day at its last equity and starts today from it.

The configured initial balance does not override the journal's (the account's money lives in
the journal; a new ``--state-dir`` starts over).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Iterable, Mapping

from trader.broker import Order, PaperBroker
from trader.portfolio import Account, Position
from trader.risk import DAILY_WINDOW
from trader.strategies import Strategy
from trader.vocabulary import MarketKey

from .saved import SavedAccount, day_number

__all__ = ["restore_account"]

_log = logging.getLogger("trader.journal")


def restore_account(account: Account, saved: SavedAccount, marks: Mapping[MarketKey, float],
                    broker: PaperBroker | None = None, strategies: Iterable[Strategy] = ()) -> None:
    row = saved.row
    if abs(row["initial_equity_usdt"] - account.initial) > 1e-9:
        _log.warning("the journal's initial balance wins over the config's", extra={
            "account": account.name, "journal_usdt": row["initial_equity_usdt"], "config_usdt": account.initial})
    account.initial = row["initial_equity_usdt"]
    account.balance = row["balance_usdt"]
    account.realized_pnl = row["realized_pnl_usdt"]
    account.funding_pnl = row["funding_usdt"]
    account.commission.clear()
    account.commission.update(saved.fees_by_exchange)
    account.high_water_mark = row["high_water_mark_usdt"]
    account.max_drawdown = row["max_drawdown_ratio"]
    account.day = day_number(row["day"])
    account.day_start_equity = row["day_start_equity_usdt"]
    account.day_max_drawdown = saved.day_row["max_drawdown_ratio"] if saved.day_row else 0.0
    _restore_halt(account, row)
    account.paused = bool(row["paused"])
    account.paused_at, account.paused_by = row["paused_at"], row["paused_by"]
    account.liquidations.update(saved.liquidations)
    mmr = _maintenance_margin_ratio(broker)
    for p in saved.positions:
        key = (p["exchange"], p["symbol"])
        account.positions[key] = Position(
            p["exchange"], p["symbol"], p["strategy"], p["quantity"], p["entry_price"], p["margin_usdt"],
            p["opened_at"], mmr, fees=p["fees_usdt"], realized=p["realized_usdt"], funding=p["funding_usdt"],
            side="long" if p["quantity"] > 0 else "short", max_quantity=abs(p["quantity"]))
    for key, price in marks.items():
        account.marks[key] = price
    _restore_strategies(account, saved)
    strategies = list(strategies)
    if broker is not None:
        _restore_orders(account, saved, broker, strategies)
    running = {s.name for s in strategies}
    for p in account.positions.values():
        if p.strategy not in running:  # a drill's, or a strategy taken out of the config: nothing exits it
            _log.warning("resumed a position no running strategy manages", extra={
                "account": account.name, "exchange": p.exchange, "symbol": p.symbol, "strategy": p.strategy,
                "quantity": p.quantity})
    _log.info("account resumed from the journal", extra={
        "account": account.name, "balance_usdt": round(account.balance, 2), "positions": len(account.positions),
        "orders": len(saved.orders), "halted": account.halt_reason, "day": row["day"]})


def _restore_halt(account: Account, row: dict) -> None:
    reason = row["halt_reason"] if row["halted"] else None
    account.halted_drawdown = reason == "max_drawdown"
    account.halted_drawdown_at = row["halted_at"] if account.halted_drawdown else None
    if row["halt_day"] is not None:
        account.halted_day = day_number(row["halt_day"])
        if reason == "daily_loss":
            account.halted_day_at = row["halted_at"]
        elif not row["halted"] and account.halted_day == account.day:
            account.daily_halt_lifted_day = account.day  # an operator lifted today's daily-loss halt


def _restore_strategies(account: Account, saved: SavedAccount) -> None:
    open_pnl: dict[str, float] = {}
    for p in account.positions.values():  # what strategy PnL counts of a position still open
        open_pnl[p.strategy] = open_pnl.get(p.strategy, 0.0) + p.realized - p.fees + p.funding
    days = len(saved.daily_returns)
    account.days.account.extend(saved.daily_returns)
    for name in set(account.strategy_stats) | set(saved.strategies) | set(open_pnl):
        totals = saved.strategies.get(name)
        stats = account.stats(name)
        if totals is not None:
            stats.wins, stats.losses = totals.wins, totals.losses
            stats.gross_profit, stats.gross_loss = totals.gross_profit, totals.gross_loss
        net = stats.gross_profit - stats.gross_loss
        stats.pnl = net + open_pnl.get(name, 0.0)
        account.days.strategy_base[name] = net - (totals.today_net if totals else 0.0)
        returns = saved.strategy_daily_returns.get(name) or [0.0] * days
        account.days.strategies[name] = deque(returns, maxlen=DAILY_WINDOW)


def _restore_orders(account: Account, saved: SavedAccount, broker: PaperBroker, strategies: list[Strategy]) -> None:
    by_name = {s.name: s for s in strategies}
    for o in saved.orders:
        position = account.positions.get((o["exchange"], o["symbol"]))
        strategy = by_name.get(o["strategy"])
        if o["reduce_only"] and position is not None:
            leverage = max(1.0, position.leverage)
        else:
            leverage = strategy.config.leverage if strategy is not None else 1.0
        order = Order(o["order_id"], account.name, o["strategy"], o["exchange"], o["symbol"], o["side"],
                      o["order_type"], o["quantity"], o["price"], bool(o["reduce_only"]), leverage, o["created_at"],
                      None)
        broker.restore(order)
        if strategy is not None:
            strategy.adopt(order)


def _maintenance_margin_ratio(broker: PaperBroker | None) -> float:
    return broker.config.maintenance_margin_ratio if broker is not None else 0.005
