"""The long-running service: the report scheduler, the trade notifier and the HTTP endpoint on
one asyncio loop, until SIGTERM.

    service = ReportsService(settings, journal, state, transports, prom, SystemClock())
    await service.run(host="0.0.0.0", port=9110)
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Mapping

from aiohttp import web

from .api import build_app
from .clock import Clock
from .journal import Journal
from .notifications import TradeNotifier
from .prometheus import PrometheusReader
from .scheduler import ReportScheduler
from .settings import Settings
from .state import State
from .transports import Transport

__all__ = ["ReportsService", "REPORT_TICK_SECONDS", "NOTIFY_TICK_SECONDS"]

_log = logging.getLogger("reports")
REPORT_TICK_SECONDS = 30.0  # how often due reports are looked for (they are due 5 min after a period)
NOTIFY_TICK_SECONDS = 5.0  # how often the journal is polled for trades


class ReportsService:
    def __init__(self, settings: Settings, journal: Journal, state: State, transports: Mapping[str, Transport],
                 prom: PrometheusReader | None, clock: Clock, report_tick: float = REPORT_TICK_SECONDS,
                 notify_tick: float = NOTIFY_TICK_SECONDS) -> None:
        self.settings = settings
        self.journal = journal
        self.state = state
        self.clock = clock
        self.scheduler = ReportScheduler(journal, state, transports, settings.report_channels, settings.periods,
                                         prom, clock)
        self.notifier = TradeNotifier(journal, state, transports, settings.trade_channels,
                                      settings.trade_window_seconds, clock)
        self.app = build_app(journal, prom, clock, state, self._health)
        self.report_tick = report_tick
        self.notify_tick = notify_tick
        self._stop = asyncio.Event()

    def _health(self) -> dict:
        return {"report_channels": list(self.scheduler.channels), "trade_channels": list(self.notifier.channels),
                "periods": list(self.settings.periods)}

    def announce(self) -> None:
        """One line saying what the service will send (or that it sends nothing, and why)."""
        s = self.settings
        if not s.configured:
            _log.info("no channel configured: reports and trade notifications are off until SMTP_*, TELEGRAM_* or "
                      "DISCORD_WEBHOOK_URL is set (see .env.example); on-demand reports are served over HTTP")
            return
        reports = (f"{' and '.join(s.periods)} reports to {', '.join(s.report_channels)}" if s.report_channels
                   else "no scheduled reports (REPORTS_CHANNELS=none)")
        trades = (f"trade notifications to {', '.join(s.trade_channels)} at most every {s.trade_window_seconds:g} s"
                  if s.trade_channels else "no trade notifications (REPORTS_TRADE_NOTIFICATIONS unset)")
        _log.info(f"sending {reports}; {trades}", extra={"journal": str(self.journal.path)})

    def stop(self) -> None:
        self._stop.set()

    async def _every(self, seconds: float, work) -> None:
        while not self._stop.is_set():
            try:
                await work()
            except Exception:  # noqa: BLE001 - a bug in one round must not end the service
                _log.exception("a scheduling round failed; the next one runs as usual")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=seconds)
            except asyncio.TimeoutError:
                pass

    async def run(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self.announce()
        _log.info(f"serving reports on http://{host}:{port}/api/v1/reports/<account>/<day|week>.json",
                  extra={"port": port})
        try:
            await asyncio.gather(self._every(self.report_tick, self.scheduler.tick),
                                 self._every(self.notify_tick, self.notifier.tick))
        finally:
            await runner.cleanup()
            self.state.close()
            _log.info("stopped")
