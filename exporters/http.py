"""The trader's HTTP endpoint: ``/metrics``, ``/healthz``, ``/readyz``, and the control API.

It runs in its own thread inside the trader's process. A request asks the trader's event loop for
a ``Frame`` (snapshot + histogram copies: microseconds of loop time) and formats it in the server
thread, so a scrape never holds the market-data path for the length of a render.

- ``GET /metrics``: Prometheus text format 0.0.4, or OpenMetrics 1.0.0 when the ``Accept`` header
  prefers it (Prometheus does; ``exporters/negotiation.py`` weighs the media ranges).
- ``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves requests.
- ``GET /readyz``: 200 when every feed is connected and its newest message is at most
  ``stale_after`` seconds old, else 503; the body says which feed is not, and why (its state and
  last error), and how each exchange account's watch goes (shown, not counted).
- ``/control/v1/...``: the operator's control API (``exporters/control_api.py``), bearer token
  required, when the trader was started with one (``control=``); else 404 saying it is off.

Started by ``trader/__main__.py`` from a coroutine on the trader's loop::

    server = start_metrics_server(trader, port=args.metrics_port)
    ...
    server.close()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from exporters.control_api import PREFIX as CONTROL_PREFIX, ControlApi
from exporters.exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE
from exporters.negotiation import wants_openmetrics
from exporters.registry import TraderRegistry, build_registry
from trader.snapshot import TraderSnapshot

__all__ = ["MetricsServer", "start_metrics_server", "readiness", "READY_STALE_AFTER", "LOOP_TIMEOUT"]

# A listed futures symbol gets book updates many times a second; 15 s with no message on any symbol
# of an exchange means the stream is dead even in a quiet market, yet a reconnect (a few seconds)
# does not flap readiness.
READY_STALE_AFTER = 15.0
# How long a request waits for the trader's loop. Longer than any healthy stall; shorter than
# Prometheus' default scrape timeout (10 s), so a stuck loop shows as an error, not a timeout.
LOOP_TIMEOUT = 5.0

_log = logging.getLogger("exporters.http")


def readiness(snapshot: TraderSnapshot, stale_after: float = READY_STALE_AFTER) -> tuple[bool, dict]:
    """(ready, JSON-able details): every feed connected and fresh, and at least one feed."""
    newest: dict[str, float] = {}
    for market in snapshot.markets:
        if market.last_message_ts is not None:
            newest[market.exchange] = max(newest.get(market.exchange, 0.0), market.last_message_ts)
    feeds = {}
    for feed in snapshot.feeds:
        age = snapshot.ts - newest[feed.exchange] if feed.exchange in newest else None
        fresh = age is not None and age <= stale_after
        feeds[feed.exchange] = {"state": feed.state, "connected": feed.connected,
                                "last_message_age_seconds": None if age is None else round(age, 3),
                                "last_error": feed.last_error,  # one line already: feeds.base.describe_error
                                "ready": feed.connected and fresh}
    # Exchange accounts are shown, not counted: a stale account is its own alert (TraderAccountStale),
    # and the market data a paper account trades on does not wait for it.
    accounts = {watch.account: {"exchange": watch.exchange, "state": watch.state,
                                "last_read_age_seconds": round(snapshot.ts - watch.last_success_ts, 3),
                                "last_error": watch.last_error}
                for watch in snapshot.account_watch}
    ready = bool(feeds) and all(f["ready"] for f in feeds.values())
    return ready, {"ready": ready, "stale_after_seconds": stale_after, "feeds": feeds, "accounts": accounts}



class MetricsServer:
    """The running endpoint; ``close()`` stops it (and the event-loop lag probe)."""

    def __init__(self, registry: TraderRegistry, host: str, port: int,
                 loop: asyncio.AbstractEventLoop | None, stale_after: float, control: ControlApi | None = None) -> None:
        self.registry = registry
        self.control = control
        self.stale_after = stale_after
        self._loop = loop
        self._httpd = _Server((host, port), _Handler)
        self._httpd.app = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.2,), name="metrics-http", daemon=True)
        self._thread.start()
        if loop is not None and registry.event_loop_lag is not None:
            registry.event_loop_lag.start(loop)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.registry.event_loop_lag is not None:
            self.registry.event_loop_lag.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def on_loop(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the trader's loop thread and return its result (directly without a loop)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return fn()
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the waiting request
                    future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        try:
            return future.result(timeout=LOOP_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the trader's event loop did not answer within {LOOP_TIMEOUT:g} s") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: MetricsServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        app = self.server.app
        path = self.path.split("?", 1)[0]
        try:
            if path.startswith(CONTROL_PREFIX):
                self._control("GET", b"")
            elif path == "/metrics":
                openmetrics = wants_openmetrics(self.headers.get("Accept"))
                frame = app.on_loop(app.registry.capture)
                body = app.registry.render(frame, openmetrics, yield_gil=True).encode()
                self._send(200, OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE, body)
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif path == "/readyz":
                ready, details = readiness(app.on_loop(app.registry.source), app.stale_after)
                self._json(200 if ready else 503, details)
            else:
                self._json(404, {"error": f"no such path {path!r}; try /metrics, /healthz or /readyz"})
        except TimeoutError as exc:
            self._json(503, {"error": str(exc)})
        except Exception as exc:
            _log.exception("metrics request failed", extra={"path": path})
            self._json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > 65536:
            self.close_connection = True
            self._json(400, {"error": "Content-Length: expected a body of at most 64 KiB"})
            return
        body = self.rfile.read(int(length))
        if not path.startswith(CONTROL_PREFIX):
            self._json(404 if path not in ("/metrics", "/healthz", "/readyz") else 405,
                       {"error": f"no POST on {path!r}; the control API is under {CONTROL_PREFIX}"})
            return
        try:
            self._control("POST", body)
        except TimeoutError as exc:
            self._json(503, {"error": str(exc)})
        except Exception as exc:
            _log.exception("control request failed", extra={"path": path})
            self._json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _control(self, method: str, body: bytes) -> None:
        app = self.server.app
        if app.control is None:
            self._json(404, {"error": "the control API is off: the trader runs without a state dir, "
                                      "where its token would be kept"})
            return
        status, answer = app.control.handle(method, self.path, self.headers, body, app.on_loop)
        if status == 401:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="trader control"')
            data = json.dumps(answer).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._json(status, answer)

    def _json(self, status: int, body: dict) -> None:
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape would drown the trader's log


def start_metrics_server(trader, port: int = 8000, host: str = "0.0.0.0", *,
                         registry: TraderRegistry | None = None, loop: asyncio.AbstractEventLoop | None = None,
                         data_dir: str = ".", stale_after: float = READY_STALE_AFTER,
                         control: ControlApi | None = None) -> MetricsServer:
    """Serve ``trader``'s metrics on ``host:port`` (0: any free port, see ``.port``).

    Call it from a coroutine on the trader's loop (or pass ``loop=``) so snapshots are taken on that
    loop's thread; without a loop they are taken in the server thread. ``registry`` replaces
    ``build_registry(trader)`` (tests pass one built on a snapshot function). ``control``: the
    control API to serve under ``/control/v1/`` (None: it answers 404, off).
    """
    if registry is None:
        registry = build_registry(trader, data_dir=data_dir)
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
    return MetricsServer(registry, host, port, loop, stale_after, control)
