"""The SMS relay: Alertmanager's webhook in, Twilio SMS out.

    SMS_RELAY_TOKEN=... TWILIO_ACCOUNT_SID=... TWILIO_AUTH_TOKEN=... TWILIO_FROM=+1555... \\
    SMS_TO=+33600000000,+33611111111 python -m alertmanager.sms --port 9099

- ``POST /`` (any path): an Alertmanager webhook payload (version 4), with
  ``Authorization: Bearer $SMS_RELAY_TOKEN``; answers 200 when every SMS went out, 502 when the
  provider failed (Alertmanager retries), 401/400/413 for a bad token, payload or size.
- ``GET /metrics``: ``sms_relay_*`` counters and the send-duration histogram.
- ``GET /healthz``: 200 while the process serves.

``TWILIO_API_URL`` (default https://api.twilio.com) points it at another host, e.g. a test
server. A missing or malformed variable stops start-up with one line and status 2.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from stacklog import configure_logging

from .settings import SettingsError
from .sms_relay import PayloadError, RelayMetrics, SmsRelay
from .twilio import DEFAULT_TWILIO_API_URL, TwilioClient

__all__ = ["load_relay", "make_server", "main"]

log = logging.getLogger("alertmanager.sms")

MAX_BODY_BYTES = 1 << 20  # a 100-alert payload is ~100 kB; more is not Alertmanager


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: expected {what}")
    return value


def load_relay(env: Mapping[str, str], registry: CollectorRegistry, dedupe_ttl: float) -> tuple[SmsRelay, str]:
    """The relay and its bearer token from the environment; ``SettingsError`` on a bad value."""
    token = _required(env, "SMS_RELAY_TOKEN", "the bearer token Alertmanager sends (the relay refuses "
                                              "to run unauthenticated)")
    sid = _required(env, "TWILIO_ACCOUNT_SID", "the Twilio account SID (AC...)")
    auth = _required(env, "TWILIO_AUTH_TOKEN", "the Twilio auth token")
    sender = _required(env, "TWILIO_FROM", "the sending number in E.164 form, e.g. +15551234567")
    recipients = [n.strip() for n in _required(env, "SMS_TO", "one or more E.164 numbers, comma separated").split(",")]
    for number in [sender, *recipients]:
        if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
            raise SettingsError(f"phone number {number!r} (TWILIO_FROM / SMS_TO) is not E.164: expected +<country><number>")
    api_url = env.get("TWILIO_API_URL", "").strip() or DEFAULT_TWILIO_API_URL
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", api_url):
        raise SettingsError(f"TWILIO_API_URL={api_url!r} is not a URL: expected http(s)://host[:port]")
    client = TwilioClient(account_sid=sid, auth_token=auth, sender=sender, api_url=api_url)
    return SmsRelay(client, recipients, RelayMetrics(registry), dedupe_ttl_seconds=dedupe_ttl), token


def make_server(host: str, port: int, relay: SmsRelay, token: str, registry: CollectorRegistry) -> ThreadingHTTPServer:
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "sms-relay"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            pass  # one JSON line per delivery is logged by the relay instead

        def _answer(self, code: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, code: int, message: str) -> None:
            relay_metrics.requests.labels(str(code)).inc()
            log.warning("webhook refused", extra={"code": code, "error": message})
            self._answer(code, json.dumps({"error": message}).encode())

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._answer(200, b"ok\n", "text/plain")
            else:
                self._answer(404, b'{"error": "not found"}')

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            given = self.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return self._error(401, "missing or wrong bearer token")
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                return self._error(400, "Content-Length is not a number")
            if length > MAX_BODY_BYTES:
                return self._error(413, f"body of {length} bytes is over {MAX_BODY_BYTES}")
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
                outcome = relay.deliver(payload)
            except (ValueError, PayloadError) as error:  # JSONDecodeError is a ValueError
                return self._error(400, f"not an Alertmanager webhook payload: {error}")
            relay_metrics.requests.labels(str(outcome.status)).inc()
            log.info("webhook handled", extra={"code": outcome.status, "sent": outcome.sent,
                                               "skipped": outcome.skipped, "failed": len(outcome.failed)})
            self._answer(outcome.status, outcome.body())

    relay_metrics = relay.metrics  # the server counts its answers in the relay's families
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alertmanager.sms", description="Alertmanager webhook to SMS relay")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
    parser.add_argument("--dedupe-ttl", type=float, default=50 * 60,
                        help="seconds an SMS already sent is not sent again (default 3000: below the "
                             "critical repeat_interval of 1h, so hourly reminders go out)")
    args = parser.parse_args(argv)
    configure_logging()
    registry = CollectorRegistry()
    try:
        relay, token = load_relay(os.environ, registry, args.dedupe_ttl)
    except SettingsError as error:
        print(f"alertmanager.sms: error: {error}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, relay, token, registry)
    # SIGTERM (docker stop) ends serve_forever cleanly; shutdown() must run on another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    log.info("sms relay listening", extra={"port": args.port})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
