"""Daily and weekly reports, exactly once per account, period and channel, across restarts.

    scheduler = ReportScheduler(journal, state, transports, ("telegram",), ("day", "week"), prom, clock)
    await scheduler.tick()   # sends whatever is due now; the service calls it every 30 s

What is due: every period of each kind (a UTC day; a Monday-to-Sunday week) of each account in
the journal that ended after the service first started (and after the channel was first
configured, and after the account was created), ``SEND_DELAY`` after its end. A report missed
while the service was down is due all the same and goes out at the next start, marked late
(sent over ``LATE_AFTER`` after its time). Paper and exchange accounts alike.

What "sent" means: the channel's API accepted it (SMTP queued it, Telegram and Discord answered
with the created message). It is recorded per channel at once, so a restart re-sends nothing that
was accepted; the only window for a duplicate is a crash between the API's answer and that
commit (milliseconds: at-least-once, never lost). A failing channel is retried alone, with
backoff (1 min doubling to 1 h), and given up ``GIVE_UP_AFTER`` after its first attempt (logged); the channels
that took the report are not sent it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Mapping, Sequence

from .clock import Clock
from .errors import ReportsError
from .journal import AccountRow, Journal, JournalMissing
from .periods import Period, periods_ended_between
from .prometheus import PrometheusReader
from .rendering import Rendered, render_report
from .state import State
from .transports import Outcome, Transport, send_isolated

__all__ = ["ReportScheduler", "Due", "SEND_DELAY", "LATE_AFTER", "RETRY_FIRST", "RETRY_MAX", "GIVE_UP_AFTER",
           "retry_delay"]

_log = logging.getLogger("reports.scheduler")

# The trader closes a day at its first tick after 00:00 UTC and samples equity every 60 s: five
# minutes leave it room, so the report reads a closed day.
SEND_DELAY = 300.0
LATE_AFTER = 3600.0  # an hour past its time, a report says it is late
RETRY_FIRST, RETRY_MAX = 60.0, 3600.0
GIVE_UP_AFTER = 86_400.0  # a day of failed attempts: tomorrow's report is more use than this one


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failures: 60, 120, 240, ... 3600."""
    return min(RETRY_MAX, RETRY_FIRST * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Due:
    account: str
    period: Period
    channel: str
    due_at: float


class ReportScheduler:
    def __init__(self, journal: Journal, state: State, transports: Mapping[str, Transport], channels: Sequence[str],
                 periods: Sequence[str], prom: PrometheusReader | None, clock: Clock) -> None:
        self.journal = journal
        self.state = state
        self.transports = dict(transports)
        self.channels = [c for c in channels if c in self.transports]
        self.periods = list(periods)
        self.prom = prom
        self.clock = clock
        # A channel is "first seen" when a service starts with it: reports from then on, not the past.
        self.first_seen = state.channel_first_seen(self.channels, clock.now())
        self._journal_problem: str | None = None  # logged once until it changes

    def due(self, accounts: Sequence[AccountRow], now: float) -> list[Due]:
        """Every (account, period, channel) due at ``now`` and not yet sent, abandoned or waiting."""
        if not self.channels:
            return []
        first_seen = self.first_seen
        horizon = self.state.first_started_at
        out = []
        for account in accounts:
            done = {(d.period, d.channel): d for d in self.state.deliveries(account.name)}
            for kind in self.periods:
                for channel in self.channels:
                    since = max(horizon, first_seen[channel], account.created_at)
                    for period in periods_ended_between(kind, since, now - SEND_DELAY):
                        record = done.get((period.key, channel))
                        if record and (record.status != "retrying" or (record.next_attempt_at or 0) > now):
                            continue
                        out.append(Due(account.name, period, channel, period.end + SEND_DELAY))
        return sorted(out, key=lambda d: (d.due_at, d.account, d.period.kind, d.channel))

    def _accounts(self) -> list[AccountRow] | None:
        try:
            accounts = self.journal.query(lambda view: view.accounts())
        except ReportsError as error:
            if str(error) != self._journal_problem:
                level = logging.INFO if isinstance(error, JournalMissing) else logging.ERROR
                _log.log(level, f"no reports for now: {error}")
                self._journal_problem = str(error)
            return None
        if self._journal_problem:
            _log.info("the journal is readable again", extra={"journal": str(self.journal.path)})
            self._journal_problem = None
        return accounts

    async def tick(self) -> list[Outcome]:
        """Send every report due now; returns each channel's outcome."""
        now = self.clock.now()
        accounts = self._accounts()
        if not accounts:
            return []
        groups: dict[tuple[str, str], list[Due]] = {}
        for item in self.due(accounts, now):
            groups.setdefault((item.account, item.period.key), []).append(item)
        outcomes: list[Outcome] = []
        for items in groups.values():
            outcomes += await self._send_group(items, now)
        return outcomes

    async def _send_group(self, items: list[Due], now: float) -> list[Outcome]:
        first = items[0]
        late = now > first.due_at + LATE_AFTER
        context = {"account": first.account, "period": first.period.key}
        try:
            rendered: Rendered = await asyncio.to_thread(
                render_report, self.journal, self.prom, first.account, first.period, now,
                first.due_at if late else None)
        except ReportsError as error:
            _log.error(f"the report could not be made: {error}", extra=context)
            return []

        async def one(item: Due) -> Outcome:
            outcome = await send_isolated(
                self.transports[item.channel], f"{item.period.kind} report",
                lambda t: t.send_report(rendered.text, rendered.png, rendered.email_html), **context)
            self._record(item, outcome, now, late)
            return outcome

        return list(await asyncio.gather(*(one(item) for item in items)))

    def _record(self, item: Due, outcome: Outcome, now: float, late: bool) -> None:
        if outcome.ok:
            self.state.record_sent(item.account, item.period.key, item.channel, item.due_at, now, late)
            return
        previous = self.state.delivery(item.account, item.period.key, item.channel)
        attempts = (previous.attempts if previous else 0) + 1
        give_up = previous is not None and now - previous.first_attempt_at >= GIVE_UP_AFTER
        next_at = None if give_up else now + retry_delay(attempts)
        self.state.record_failure(item.account, item.period.key, item.channel, item.due_at, outcome.error or "", now,
                                  next_at)
        if give_up:
            _log.error(f"{item.channel}: gave up the {item.period.key} report after {attempts} attempts",
                       extra={"account": item.account, "channel": item.channel})
