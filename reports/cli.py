"""``python -m reports``: the reports service, or one report on demand.

    python -m reports --state-dir /data/state --prometheus http://prometheus:9090 --data-dir /data/reports
    python -m reports --state-dir state --prometheus http://localhost:9090 --account main --period day --out out/
    python -m reports --state-dir state --period week --at 2026-05-04 --send

With ``--out`` or ``--send`` it makes one report per account (``--account``, default every
account of the journal) for the period containing ``--at`` (a UTC day; default now, so far) and
writes ``report-<account>-<period>-<first day>.html`` and ``.png`` into ``--out`` and/or sends
it to the configured channels (``REPORTS_CHANNELS``), outside the schedule. Without them it is
the service: the scheduled reports, the trade notifications and the HTTP endpoint.

Exit codes: 0 done; 2 bad input, settings or journal (one line on stderr, nothing sent or written);
1 a send failed on some channel (each channel's outcome is logged).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from stacklog import configure_logging

from .clock import SystemClock
from .errors import ReportsError
from .journal import Journal
from .periods import PERIOD_KINDS, parse_day, period_containing
from .prometheus import PrometheusReader
from .rendering import render_report
from .settings import load_settings
from .state import State
from .transports import build_transports, send_isolated

__all__ = ["main", "build_parser", "DEFAULT_PORT"]

DEFAULT_PORT = 9110
_log = logging.getLogger("reports")


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _OneLineParser(prog="python -m reports", description="Daily and weekly performance reports with a chart, "
                       "trade notifications, and reports on demand.")
    p.add_argument("--state-dir", type=Path, default=Path("state"), metavar="DIR",
                   help="the trader's --state-dir, holding journal.sqlite3 (read-only); default %(default)s")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus, for the alerts fired and operational figures "
                   "(left out of the report when unset or unreachable)")
    p.add_argument("--trader", metavar="NAME", help="the trader label to match in Prometheus (default: the "
                   "journal's meta 'trader')")
    service = p.add_argument_group("the service")
    service.add_argument("--data-dir", type=Path, default=Path("reports-state"), metavar="DIR",
                         help="the service's own state (what was sent); default %(default)s")
    service.add_argument("--host", default="127.0.0.1", help="HTTP listen address; default %(default)s")
    service.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port; default %(default)s")
    once = p.add_argument_group("one report on demand")
    once.add_argument("--account", metavar="NAME", help="default: every account of the journal")
    once.add_argument("--period", choices=PERIOD_KINDS, default="day", help="default %(default)s")
    once.add_argument("--at", metavar="YYYY-MM-DD", help="the UTC day whose period to report (default: now, so far)")
    once.add_argument("--out", type=Path, metavar="DIR", help="write the HTML and PNG files here")
    once.add_argument("--send", action="store_true", help="send it to the configured channels")
    return p


def _prometheus(url: str | None, trader: str | None, journal: Journal) -> PrometheusReader | None:
    if not url:
        return None
    if trader is None:
        try:
            trader = journal.query(lambda view: view.meta().get("trader"))
        except ReportsError:
            trader = None
    return PrometheusReader(url, trader=trader)


def _once(args: argparse.Namespace, settings, journal: Journal) -> int:
    clock = SystemClock()
    now = clock.now()
    at = parse_day(args.at) if args.at else now
    period = period_containing(args.period, at)
    if period.start > now:
        raise ReportsError(f"--at {args.at!r} is in the future: expected a UTC day up to today")
    accounts = [args.account] if args.account else journal.query(lambda view: [a.name for a in view.accounts()])
    if not accounts:
        raise ReportsError(f"journal {journal.path} has no account yet: expected the trader to have started")
    transports = build_transports(settings) if args.send else {}
    if args.send and not settings.report_channels:
        raise ReportsError("--send: no channel to send to: configure SMTP_*, TELEGRAM_* or DISCORD_WEBHOOK_URL "
                           "(and REPORTS_CHANNELS, if set)")
    prom = _prometheus(args.prometheus, args.trader, journal)
    rendered = [render_report(journal, prom, account, period, now) for account in accounts]
    failed = 0
    for item in rendered:
        stem = f"report-{item.report.account}-{period.kind}-{period.first_day}"
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{stem}.png").write_bytes(item.png)
            (args.out / f"{stem}.html").write_text(item.page(f"{stem}.png"), encoding="utf-8")
            print(args.out / f"{stem}.html")
            print(args.out / f"{stem}.png")
        for channel in settings.report_channels if args.send else ():
            outcome = asyncio.run(send_isolated(transports[channel], f"{period.kind} report",
                                                lambda t: t.send_report(item.text, item.png, item.email_html),
                                                account=item.report.account, period=period.key))
            failed += not outcome.ok
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        settings = load_settings(os.environ)
        journal = Journal(args.state_dir)
        if args.out or args.send:
            return _once(args, settings, journal)
        if not 0 < args.port < 65536:
            raise ReportsError(f"--port {args.port} is not a TCP port: expected 1 to 65535")
        from .service import ReportsService

        clock = SystemClock()
        transports = build_transports(settings)
        state = State(args.data_dir, clock.now())
        service = ReportsService(settings, journal, state, transports,
                                 _prometheus(args.prometheus, args.trader, journal), clock)
        asyncio.run(service.run(args.host, args.port))
        return 0
    except ReportsError as error:
        print(f"python -m reports: {error}", file=sys.stderr)
        return 2
