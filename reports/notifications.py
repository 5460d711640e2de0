"""Trade notifications: position opened, position closed with PnL and holding time, taken from
the journal and batched per channel, off unless ``REPORTS_TRADE_NOTIFICATIONS`` names channels.

    notifier = TradeNotifier(journal, state, transports, ("telegram",), window_seconds=60, clock=clock)
    await notifier.tick()   # the service calls it every few seconds

Each poll reads the journal's new ``trades`` rows (id above the cursor: closed positions) and the
``positions`` not seen before (opened ones), and queues them per channel with the new cursor in
one transaction of the service's state, so a restart neither repeats nor drops one. A channel
gets at most one message per window: one event is told in full, several as a summary with one
line each (cut to the channel's limit). On the first start the cursor begins at the journal's
present: history is not notified. Notifications never page: they are not alerts.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

from .clock import Clock
from .errors import ReportsError
from .journal import Journal, JournalView
from .numbers import duration, price, quantity, usdt, utc_time
from .state import State
from .transports import Note, Outcome, Transport, send_isolated

__all__ = ["TradeNotifier", "batch_note", "MAX_RETRY_SECONDS"]

_log = logging.getLogger("reports.notifications")
MAX_RETRY_SECONDS = 3600.0
_TRADE_CURSOR, _POSITIONS_CURSOR = "last_trade_id", "open_positions"


def _opened(position) -> dict:
    return {"type": "opened", "account": position.account, "exchange": position.exchange, "symbol": position.symbol,
            "strategy": position.strategy, "side": "long" if position.quantity > 0 else "short",
            "quantity": abs(position.quantity), "price": position.entry_price, "leverage": position.leverage,
            "at": position.opened_at}


def _closed(trade) -> dict:
    return {"type": "closed", "account": trade.account, "exchange": trade.exchange, "symbol": trade.symbol,
            "strategy": trade.strategy, "side": trade.side, "quantity": trade.quantity, "entry": trade.entry_price,
            "price": trade.exit_price, "net_pnl": trade.net_pnl_usdt, "holding": trade.holding_seconds,
            "reason": trade.exit_reason, "at": trade.closed_at, "id": trade.id}


def _line(event: dict) -> str:
    where = f"{event['symbol']} ({event['strategy']}, {event['account']})"
    if event["type"] == "opened":
        return (f"Opened {event['side']} {quantity(event['quantity'])} {where} at {price(event['price'])}, "
                f"{event['leverage']:g}×")
    return (f"Closed {event['side']} {where}: {usdt(event['net_pnl'], signed=True)} net after "
            f"{duration(event['holding'])} ({event['reason']})")


def batch_note(events: Sequence[dict]) -> Note:
    """The message for one window's events: the event itself, or a summary and one line each."""
    if len(events) == 1:
        event = events[0]
        verb = "opened" if event["type"] == "opened" else "closed"
        return Note(f"Position {verb} · {event['symbol']} · {event['account']}", (_line(event),),
                    f"{utc_time(event['at'])} · {event['exchange']}")
    opened = [e for e in events if e["type"] == "opened"]
    closed = [e for e in events if e["type"] == "closed"]
    accounts = sorted({e["account"] for e in events})
    summary = [f"{len(opened)} opened · {len(closed)} closed"]
    if closed:
        wins = sum(1 for e in closed if e["net_pnl"] > 0)
        net = sum(e["net_pnl"] for e in closed)
        summary.append(f"Closed net {usdt(net, signed=True)} · {wins} won · {len(closed) - wins} lost")
    first, last = min(e["at"] for e in events), max(e["at"] for e in events)
    return Note(f"{len(events)} trade events · {', '.join(accounts)}", tuple(summary + [_line(e) for e in events]),
                f"{utc_time(first)} to {utc_time(last, with_date=False)}")


class TradeNotifier:
    def __init__(self, journal: Journal, state: State, transports: Mapping[str, Transport], channels: Sequence[str],
                 window_seconds: float, clock: Clock) -> None:
        self.journal = journal
        self.state = state
        self.transports = dict(transports)
        self.channels = [c for c in channels if c in self.transports]
        self.window = window_seconds
        self.clock = clock

    def poll(self) -> int:
        """Queue what happened since the last poll; returns how many events were queued."""
        if not self.channels:
            return 0

        cursor = self.state.cursor(_TRADE_CURSOR)

        def read(view: JournalView):
            trades = view.trades_after(int(cursor)) if cursor is not None else []
            return view.last_trade_id(), trades, view.positions()

        last_id, trades, positions = self.journal.query(read)
        seen = set(self.state.cursor(_POSITIONS_CURSOR) or [])
        now = self.clock.now()
        open_now = {p.key: p for p in positions}
        if cursor is None:  # first start: begin at the journal's present
            self.state.advance({_TRADE_CURSOR: last_id, _POSITIONS_CURSOR: sorted(open_now)}, {}, now)
            return 0
        if last_id < int(cursor):
            _log.warning("the journal's trades went back (a new journal?): the cursor starts over",
                         extra={"cursor": cursor, "last_trade_id": last_id})
        events = [_opened(p) for key, p in open_now.items() if key not in seen] + [_closed(t) for t in trades]
        events.sort(key=lambda e: e["at"])
        self.state.advance({_TRADE_CURSOR: last_id, _POSITIONS_CURSOR: sorted(open_now)},
                           {channel: events for channel in self.channels} if events else {}, now)
        return len(events)

    async def flush(self) -> list[Outcome]:
        """Send each channel's queue if its window allows; failures wait with backoff, nothing dropped."""
        now = self.clock.now()
        outcomes = []
        for channel in self.channels:
            queued = self.state.outbox(channel)
            last_sent, failures, next_attempt = self.state.window(channel)
            if not queued or (last_sent is not None and now < last_sent + self.window) or \
                    (next_attempt is not None and now < next_attempt):
                continue
            note = batch_note([item.event for item in queued])
            outcome = await send_isolated(self.transports[channel], "trade notification",
                                          lambda t: t.send_note(note), events=str(len(queued)))
            if outcome.ok:
                self.state.notes_sent(channel, [item.id for item in queued], now)
            else:
                self.state.notes_failed(channel, now + min(MAX_RETRY_SECONDS, self.window * 2 ** failures))
            outcomes.append(outcome)
        return outcomes

    async def tick(self) -> list[Outcome]:
        try:
            self.poll()
        except ReportsError as error:
            _log.debug(f"trade notifications wait for the journal: {error}")
        return await self.flush()
