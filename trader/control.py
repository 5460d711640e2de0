"""An operator's actions on a running trader: pause, resume, close a position, close them all.

What the control API (exporters/control_api.py) and so the chat service ask for; no HTTP here.
Every method runs on the trader's event loop thread (the API hands each call to it), so it sees
and changes the accounts between two market events, never in the middle of one.

- ``pause``: no new entries (the risk gate refuses them with reason ``paused``, trader/limits.py)
  and the account's resting entry orders are canceled; exits (stops, take-profits, timeouts,
  reduce-only orders) are still managed.
- ``resume``: ends a pause. A risk halt (drawdown, daily loss) is lifted only with
  ``confirm=True``: without it nothing changes and ``NeedsConfirmation`` says which halt holds.
- ``close``/``close_all``: cancel the market's resting orders and send a reduce-only market order
  for the whole position; the round trip ends with exit reason ``manual``.

Only paper accounts: an exchange account is watched with read-only keys and the trader never
trades it (``ReadOnlyAccount``). Every action is logged with who asked (one JSON line, logger
``trader.control``) and recorded in the journal's ``actions`` (``JournalWriter.record_action``).

    >>> from trader.config import load_config
    >>> from trader.engine import Trader
    >>> control = Controller(Trader(load_config(None), feeds=[]))
    >>> control.pause("main", actor="doc")["paused"]
    True
    >>> control.close("main", "BTCUSDT", actor="doc")
    Traceback (most recent call last):
    ...
    trader.control.NothingToDo: account 'main' holds no open BTCUSDT position
    >>> control.pause("nope", actor="doc")
    Traceback (most recent call last):
    ...
    trader.control.UnknownAccount: no account 'nope' (accounts: main)
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict, deque
from typing import TYPE_CHECKING

from .events import PositionClosed
from .vocabulary import Side

if TYPE_CHECKING:
    from .engine import AccountRuntime, Trader

__all__ = ["Controller", "ControlError", "UnknownAccount", "ReadOnlyAccount", "NeedsConfirmation", "NothingToDo",
           "MAX_TRADES"]

_log = logging.getLogger("trader.control")
# The most recent trades one request returns; the ring of a trader without a journal keeps as many.
MAX_TRADES = 200


class ControlError(Exception):
    """An action that cannot be done; the message is one line for the operator. ``kind`` names
    the case for a caller that maps it (the control API: to an HTTP status) without importing us."""

    kind = "refused"


class UnknownAccount(ControlError):
    kind = "unknown_account"


class ReadOnlyAccount(ControlError):
    kind = "read_only"


class NeedsConfirmation(ControlError):
    kind = "needs_confirmation"

    def __init__(self, message: str, halt_reason: str) -> None:
        super().__init__(message)
        self.halt_reason = halt_reason


class NothingToDo(ControlError):
    kind = "nothing_to_do"


class Controller:
    def __init__(self, trader: "Trader") -> None:
        self.trader = trader
        # Closed round trips of a trader without a journal (the journal keeps them otherwise).
        self._recent: dict[str, deque] = defaultdict(lambda: deque(maxlen=MAX_TRADES))
        trader.bus.subscribe(PositionClosed, self._on_closed)

    # --- reading ----------------------------------------------------------------------------

    def accounts(self) -> list[dict]:
        """Every account, paper and exchange, with what a status line needs."""
        snapshot = self.trader.snapshot()
        paper = {r.account.name: r.account for r in self.trader.accounts}
        out = []
        for a in snapshot.accounts:
            account = paper.get(a.name)
            out.append({
                "name": a.name, "kind": "paper" if account is not None else "exchange",
                "equity_usdt": a.equity_usdt, "balance_usdt": a.balance_usdt, "daily_pnl_usdt": a.daily_pnl_usdt,
                "realized_pnl_usdt": a.realized_pnl_usdt, "unrealized_pnl_usdt": a.unrealized_pnl_usdt,
                "drawdown_ratio": a.drawdown_ratio, "margin_used_usdt": a.margin_used_usdt,
                "margin_free_usdt": a.margin_free_usdt, "open_positions": len(a.positions),
                "halted": a.trading_halted, "halt_reason": account.halt_reason if account is not None else None,
                "paused": bool(account.paused) if account is not None else False,
                "paused_by": account.paused_by if account is not None else None,
                "paused_at": account.paused_at if account is not None else None,
            })
        return out

    def positions(self, name: str) -> list[dict]:
        self._known(name)
        snapshot = self.trader.snapshot()
        account = next((a for a in snapshot.accounts if a.name == name), None)
        if account is None:
            return []  # an exchange account not read yet
        return [{"exchange": p.exchange, "symbol": p.symbol, "strategy": p.strategy, "quantity": p.quantity,
                 "side": "long" if p.quantity > 0 else "short", "entry_price": p.entry_price,
                 "mark_price": p.mark_price, "notional_usdt": p.notional_usdt,
                 "unrealized_pnl_usdt": p.unrealized_pnl_usdt, "leverage": p.leverage,
                 "liquidation_price": p.liquidation_price, "age_seconds": p.age_seconds}
                for p in account.positions]

    def trades(self, name: str, limit: int = 10) -> list[dict]:
        """The last ``limit`` closed round trips, newest first (from the journal when there is one)."""
        self._known(name)
        limit = max(1, min(int(limit), MAX_TRADES))
        writer = self.trader.journal_writer
        if writer is not None:
            writer.flush()  # a trade closed this second is in the file before it is read
            conn: sqlite3.Connection = writer.journal.conn
            rows = conn.execute(
                "SELECT exchange, symbol, strategy, side, quantity, entry_price, exit_price, opened_at, closed_at, "
                "holding_seconds, net_pnl_usdt, fees_usdt, exit_reason FROM trades WHERE account = ? "
                "ORDER BY closed_at DESC, id DESC LIMIT ?", (name, limit)).fetchall()
            keys = ("exchange", "symbol", "strategy", "side", "quantity", "entry_price", "exit_price", "opened_at",
                    "closed_at", "holding_seconds", "net_pnl_usdt", "fees_usdt", "exit_reason")
            return [dict(zip(keys, row)) for row in rows]
        return list(self._recent[name])[-limit:][::-1]

    # --- actions ----------------------------------------------------------------------------

    def pause(self, name: str, actor: str) -> dict:
        runtime = self._paper(name)
        account = runtime.account
        if account.paused:
            return self._state(runtime, already=True)
        now = self.trader.clock()
        account.paused, account.paused_at, account.paused_by = True, now, actor
        canceled = [o.order_id for o in runtime.broker.open_orders() if not o.reduce_only]
        for order_id in canceled:
            runtime.broker.cancel(order_id, "paused")
        self._record(name, "pause", actor, {"canceled_entries": len(canceled)})
        return self._state(runtime, canceled_entries=len(canceled))

    def resume(self, name: str, actor: str, confirm: bool = False) -> dict:
        runtime = self._paper(name)
        account = runtime.account
        halt = account.halt_reason
        if halt is not None and not confirm:
            raise NeedsConfirmation(f"account {name!r} is halted by its {halt.replace('_', ' ')} limit "
                                    f"(drawdown {account.snapshot(self.trader.clock()).drawdown_ratio:.1%}); "
                                    "resume with confirm to lift the halt", halt)
        if halt is None and not account.paused:
            return self._state(runtime, already=True)
        was_paused = account.paused
        account.paused, account.paused_at, account.paused_by = False, None, None
        lifted = account.lift_halt() if halt is not None else ()
        self._record(name, "resume", actor, {"unpaused": was_paused, "lifted": list(lifted)})
        return self._state(runtime, lifted=list(lifted))

    def close(self, name: str, symbol: str, actor: str) -> dict:
        runtime = self._paper(name)
        symbol = symbol.strip().upper()
        keys = [k for k in runtime.account.positions if k[1] == symbol]
        if not keys:
            raise NothingToDo(f"account {name!r} holds no open {symbol} position")
        closing = [self._close_key(runtime, key) for key in keys]
        self._record(name, "close", actor, {"symbol": symbol, "orders": [c["order_id"] for c in closing]})
        return {"account": name, "closing": closing}

    def close_all(self, name: str, actor: str) -> dict:
        runtime = self._paper(name)
        keys = list(runtime.account.positions)
        if not keys:
            raise NothingToDo(f"account {name!r} holds no open position")
        closing = [self._close_key(runtime, key) for key in keys]
        self._record(name, "closeall", actor, {"orders": [c["order_id"] for c in closing]})
        return {"account": name, "closing": closing}

    # --- helpers ----------------------------------------------------------------------------

    def _close_key(self, runtime: "AccountRuntime", key: tuple[str, str]) -> dict:
        position = runtime.account.positions[key]
        exchange, symbol = key
        # The market's resting orders first (the strategy's stop and take-profit, an entry): the
        # close must be the one order that ends the position.
        runtime.broker.cancel_all(exchange, symbol, "manual_close")
        side: Side = "sell" if position.quantity > 0 else "buy"
        order = runtime.broker.submit(position.strategy, exchange, symbol, side, "market", abs(position.quantity),
                                      reduce_only=True, leverage=max(position.leverage, 1.0), exit_reason="manual")
        return {"exchange": exchange, "symbol": symbol, "side": side, "quantity": abs(position.quantity),
                "order_id": order.order_id if order is not None else None,
                "sent": order is not None}

    def _known(self, name: str) -> None:
        names = [r.account.name for r in self.trader.accounts] + [w.name for w in self.trader.watchers]
        if name not in names:
            raise UnknownAccount(f"no account {name!r} (accounts: {', '.join(names) or 'none'})")

    def _paper(self, name: str) -> "AccountRuntime":
        for runtime in self.trader.accounts:
            if runtime.account.name == name:
                return runtime
        self._known(name)
        raise ReadOnlyAccount(f"account {name!r} is an exchange account watched with read-only keys: "
                              "the trader never trades it")

    def _state(self, runtime: "AccountRuntime", **extra: object) -> dict:
        account = runtime.account
        return {"account": account.name, "paused": account.paused, "paused_by": account.paused_by,
                "halted": account.trading_halted, "halt_reason": account.halt_reason, **extra}

    def _record(self, name: str, action: str, actor: str, detail: dict) -> None:
        _log.info("operator action", extra={"account": name, "action": action, "actor": actor, **detail})
        writer = self.trader.journal_writer
        if writer is not None:
            writer.record_action(name, action, actor, detail)

    def _on_closed(self, event: PositionClosed) -> None:
        trade = event.trade
        if trade is None:
            return
        self._recent[event.account].append({
            "exchange": trade.exchange, "symbol": trade.symbol, "strategy": trade.strategy, "side": trade.side,
            "quantity": trade.quantity, "entry_price": trade.entry_price, "exit_price": trade.exit_price,
            "opened_at": trade.opened_at, "closed_at": trade.closed_at, "holding_seconds": trade.held_seconds,
            "net_pnl_usdt": trade.realized_pnl, "fees_usdt": trade.fees, "exit_reason": event.exit_reason})
