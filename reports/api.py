"""The service's HTTP endpoint, for the chat service (issue 15) and a curious human; inside the
compose network only (no host port). See reports/README.md.

    GET /healthz                                  200 {"status": "ok", "journal": ..., "channels": ...}
    GET /api/v1/reports/<account>/<period>.json   the figures and the phone-formatted text
    GET /api/v1/reports/<account>/<period>.png    the chart
        period: day | week;  ?at=YYYY-MM-DD picks the period containing that UTC day (default: the
        current one, so far)

Errors are JSON ``{"error": "<one line>"}``: 400 a bad period or date, 404 an unknown account,
503 a journal that cannot be read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from aiohttp import web

from .clock import Clock
from .errors import ReportsError
from .journal import Journal, JournalMissing
from .periods import PERIOD_KINDS, parse_day, period_containing
from .prometheus import PrometheusReader
from .rendering import AccountNotFound, Rendered, render_report
from .state import State
from .wording import plain_text

__all__ = ["build_app", "report_json"]

_log = logging.getLogger("reports.api")


def report_json(rendered: Rendered) -> dict:
    text = rendered.text
    return {
        "account": rendered.report.account, "period": rendered.report.period.kind,
        "title": text.title, "summary": list(text.summary),
        "sections": [{"title": s.title, "lines": [{"label": label, "value": value} for label, value in s.lines]}
                     for s in text.sections],
        "text": plain_text(text), "figures": rendered.report.figures(),
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def build_app(journal: Journal, prom: PrometheusReader | None, clock: Clock, state: State | None = None,
              health: Callable[[], dict] | None = None) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(journal.query, lambda view: None)
            journal_state = "ok"
        except ReportsError as error:
            journal_state = f"unreadable: {error}" if not isinstance(error, JournalMissing) else "not written yet"
        body = {"status": "ok", "journal": journal_state, **(health() if health else {})}
        if state is not None:
            body["deliveries"] = state.counts()
        return web.json_response(body)

    async def report(request: web.Request) -> web.Response:
        account, name = request.match_info["account"], request.match_info["name"]
        kind, _, suffix = name.rpartition(".")
        if suffix not in ("json", "png") or kind not in PERIOD_KINDS:
            return _error(400, f"{name!r} is not a report: expected day.json, day.png, week.json or week.png")
        now = clock.now()
        try:
            at = parse_day(request.query["at"]) if request.query.get("at") else now
            period = period_containing(kind, at)
        except ReportsError as error:
            return _error(400, str(error).replace("--at", "at"))
        if period.start > now:
            return _error(400, f"at={request.query['at']!r} is in the future: expected a UTC day up to today")
        try:
            rendered = await asyncio.to_thread(render_report, journal, prom, account, period, now)
        except AccountNotFound as error:
            return _error(404, str(error))
        except ReportsError as error:
            return _error(503, str(error))
        if suffix == "png":
            return web.Response(body=rendered.png, content_type="image/png",
                                headers={"Cache-Control": "no-store"})
        return web.json_response(report_json(rendered))

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/reports/{account}/{name}", report)
    return app
