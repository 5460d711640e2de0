"""The shared machinery of the stand-in exchanges: a real HTTP server on 127.0.0.1 that records
every request, checks its signature, injects faults, and fails the test on any order request.

Each exchange's stand-in (``binance_standin.py``...) subclasses ``StandinExchange`` with its routes
(``route(method, path, query, headers) -> Response``), its signature check and its rate-limit
headers; its bodies are shaped as that exchange's documentation shows (cited at each route).
The real ccxt client talks to it through the account's ``api_url``.

    with BinanceStandin(key, secret) as exchange:
        exchange.fail("/fapi/v3/account", status=429, body=..., headers={"Retry-After": "2"}, times=1)
        exchange.go_down(); exchange.come_back()       # network loss: the port refuses connections
        exchange.requests_to("/fapi/v3/account")       # [Request(...)], with the time each arrived
        exchange.order_requests                        # must stay empty: checked at exit

A fault is served instead of the route's answer: an HTTP status with a body (an error, a region
block, a rate limit with its headers), a delay longer than the client's timeout, a body that is
not JSON, or a connection closed without an answer.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

__all__ = ["StandinExchange", "Request", "Response", "Fault", "ORDER_PATH"]

# Paths that place, change or cancel an order, or move money, on any of the three exchanges.
ORDER_PATH = re.compile(r"order|batch|cancel|withdraw|transfer|leverage|marginType|positionSide|amend|trade/close",
                        re.IGNORECASE)
# ... except these reads, whose names contain such a word (liquidation orders, fills, trade lists).
_READS_WITH_ORDER_WORDS = {"/fapi/v1/forceOrders", "/fapi/v1/userTrades"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    path: str  # the route's path, or "*" for every path
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (longer than the client's timeout: a timeout)
    raw: bytes | None = None  # a body sent as is (not JSON: malformed)
    drop: bool = False  # close the connection without an answer
    times: int = 1  # how many requests it answers; then the route answers again


class StandinExchange:
    name = "standin"

    def __init__(self, api_key: str, secret: str, passphrase: str | None = None) -> None:
        self.api_key = api_key
        self.secret = secret
        self.passphrase = passphrase
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.order_requests: list[Request] = []
        self.auth_failures: list[str] = []
        self._faults: list[Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()  # open sockets, closed on go_down (keep-alive would outlive it)
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> "StandinExchange":
        self._serve()
        return self

    def __exit__(self, *exc) -> None:
        self._stop()
        assert not self.order_requests, f"{self.name}: order requests reached the exchange: {self.order_requests}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

            def do_PUT(self):
                standin._handle(self, "PUT")

            def do_DELETE(self):
                standin._handle(self, "DELETE")

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with standin.lock:
                    standin._connections.add(self.connection)

            def finish(self):
                with standin.lock:
                    standin._connections.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        # A connection the client dropped (a timeout) or we dropped (a fault) is not news.
        self._server.handle_error = lambda request, client_address: None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.name}-standin", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def go_down(self) -> None:
        """Network loss: the port refuses connections until ``come_back()``."""
        self._stop()

    def come_back(self) -> None:
        self._serve()

    # --- faults and what arrived --------------------------------------------------------------

    def fail(self, path: str, **fault: Any) -> None:
        with self.lock:
            self._faults.append(Fault(path, **fault))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait_for_requests(self, path: str, count: int, timeout: float = 20.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.requests_to(path)
            if len(seen) >= count:
                return seen
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: {len(self.requests_to(path))} requests to {path} after {timeout}s, "
                             f"expected {count}")

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.path in (path, "*"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # --- one request --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), parts.query,
                          {k: v for k, v in handler.headers.items()}, body, time.monotonic())
        with self.lock:
            self.requests.append(request)
            if method != "GET" or (ORDER_PATH.search(parts.path) and parts.path not in _READS_WITH_ORDER_WORDS):
                self.order_requests.append(request)
        if request in self.order_requests:
            return self._send(handler, Response(405, {"msg": "the stand-in refuses order requests"}))
        fault = self._take_fault(parts.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                handler.close_connection = True
                try:
                    handler.connection.shutdown(2)
                except OSError:
                    pass
                return
            if fault.raw is not None or fault.body is not None or fault.status != 200:
                return self._send(handler, Response(fault.status, fault.raw if fault.raw is not None else fault.body,
                                                    fault.headers))
        try:
            response = self.authenticate(request) or self.route(request)
        except Exception as error:  # a stand-in bug shows as a 500 the test will notice
            response = Response(500, {"msg": f"stand-in error: {type(error).__name__}: {error}"})
        self._send(handler, response)

    def _send(self, handler: BaseHTTPRequestHandler, response: Response) -> None:
        payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
        handler.send_response(response.status)
        headers = {"Content-Type": "application/json", **self.rate_limit_headers(), **response.headers}
        for key, value in headers.items():
            handler.send_header(key, str(value))
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    # --- per exchange -------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        """None if the request is signed as the exchange requires (or is public), else its refusal."""
        raise NotImplementedError

    def route(self, request: Request) -> Response:
        raise NotImplementedError

    def rate_limit_headers(self) -> dict[str, str]:
        return {}

    def refuse(self, why: str, response: Response) -> Response:
        with self.lock:
            self.auth_failures.append(why)
        return response


def requests_between(requests: list[Request], start: float, end: float) -> list[Request]:
    return [r for r in requests if start <= r.at < end]


Clock = Callable[[], float]
