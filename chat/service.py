"""``python -m chat``: settings from the environment, then the transports and the ack watcher.

Exit codes: 2 with one line on stderr when no bot token is set or a variable is bad; 0 after
SIGTERM/SIGINT. A transport that fails (a wrong token, its service down) is logged and started
again after a pause; the other transport and the ack watcher keep running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Mapping

from aiohttp import web

from stacklog import configure_logging

from .acks import run_ack_watcher
from .clients import Alertmanager, Http, Prometheus, Reports, TraderControl
from .commands import Brain
from .settings import Settings, SettingsError, load_settings

__all__ = ["main", "run", "Redactor"]

_log = logging.getLogger("chat")
RESTART_SECONDS = 10.0  # a failed transport is tried again after this; the other one is unaffected
# Compose's health check asks GET /healthz on 127.0.0.1:CHAT_HEALTH_PORT, inside the container
# only: the service takes no inbound traffic (Telegram by long polling, Discord over its gateway).
HEALTH_HOST = "127.0.0.1"


class Redactor(logging.Filter):
    """Replaces the bot tokens wherever a log line (or its traceback) would carry one."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._clean(record.getMessage()), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc = record.exc_text
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "name", "levelname"):
                setattr(record, key, self._clean(value))
        return True


def _transports(settings: Settings, brain: Brain) -> list:
    out = []
    if settings.telegram_token:
        from .telegram import TelegramTransport

        out.append(TelegramTransport(settings.telegram_token, settings.telegram_api_url, brain))
    if settings.discord_token:
        from .discord_bot import DiscordTransport

        out.append(DiscordTransport(settings, brain))
    return out


async def _keep_running(transport, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await transport.run(stopping)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # this transport only: the others go on
            _log.error("transport failed; starting it again", extra={
                "transport": transport.name, "error": f"{type(error).__name__}: {error}"[:300],
                "retry_seconds": RESTART_SECONDS})
        try:
            await asyncio.wait_for(stopping.wait(), RESTART_SECONDS)
        except asyncio.TimeoutError:
            pass


async def _serve_health(transports: list, port: int) -> web.AppRunner | None:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "transports": [t.name for t in transports]})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, HEALTH_HOST, port).start()
    except OSError as error:  # the port taken: the chat still answers, the health check will say so
        _log.warning("health endpoint not served", extra={"port": port, "error": str(error)})
        await runner.cleanup()
        return None
    return runner


async def run(settings: Settings, stopping: asyncio.Event | None = None) -> None:
    stopping = stopping or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stopping.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    http = Http()
    alertmanager = Alertmanager(http, settings.alertmanager_url)
    brain = Brain(settings, Prometheus(http, settings.prometheus_url, settings.trader), alertmanager,
                  TraderControl(http, settings.trader_url, settings.control_token_file),
                  Reports(http, settings.reports_url))
    transports = _transports(settings, brain)
    _log.info("chat service started", extra={
        "transports": ",".join(t.name for t in transports), "operators": len(settings.operators),
        "prometheus": settings.prometheus_url, "alertmanager": settings.alertmanager_url,
        "trader": settings.trader_url})
    tasks = [asyncio.create_task(_keep_running(t, stopping), name=t.name) for t in transports]
    helpers = [asyncio.create_task(run_ack_watcher(alertmanager, settings.ack_check_seconds), name="acks")]
    health = await _serve_health(transports, settings.health_port)
    try:
        await stopping.wait()
        if tasks:
            await asyncio.wait(tasks, timeout=15)
    finally:
        for task in tasks + helpers:
            task.cancel()
        await asyncio.gather(*tasks, *helpers, return_exceptions=True)
        await http.close()
        if health is not None:
            await health.cleanup()
        _log.info("chat service stopped")


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        settings = load_settings(os.environ if env is None else env)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(os.environ.get("CHAT_LOG_LEVEL", "INFO"))
    redactor = Redactor(settings.secrets())
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    return 0
