"""Local stand-ins for the outside services Alertmanager notifies, recording what they receive.

Real HTTP servers on 127.0.0.1 answer like Discord (its Slack-compatible webhook), Telegram's
Bot API (including its refusal of invalid HTML), Slack, Twilio and a dead man's switch; a real
SMTP server (aiosmtpd) takes the e-mail. Reusable by the end-to-end test:

    with start_receivers() as fakes:
        env = fakes.render_env(sms_relay_url=..., sms_relay_token=...)
        ... render with env, start Alertmanager ...
        fakes.discord.wait_for(lambda r: "TraderDrawdownHigh" in r.json["attachments"][0]["title"])
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from tests.support.ports import free_port

__all__ = ["Request", "FakeHttpService", "FakeSmtp", "FakeReceivers", "start_receivers",
           "telegram_html_problems", "telegram_visible_text", "discord_embed", "TELEGRAM_TOKEN", "TELEGRAM_CHAT_ID",
           "TWILIO_SID", "TWILIO_TOKEN"]

TELEGRAM_TOKEN = "123456:TEST-token_abc"
TELEGRAM_CHAT_ID = "-1001234567890"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-test-token"
# The tags our Telegram messages may use (Telegram also knows a few aliases such as strong/em).
ALLOWED_TELEGRAM_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class _TelegramHtml(HTMLParser):
    """Checks HTML the way Telegram's parse_mode=HTML does: known tags, balanced, escaped text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("<a> without href")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def telegram_html_problems(text: str) -> list[str]:
    """Why Telegram would refuse ``text`` in HTML mode (empty when it is valid)."""
    parser = _TelegramHtml()
    # A bare "<" or "&" that is not an entity is refused by Telegram; html.parser would accept it.
    for match in re.finditer(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        parser.problems.append(f"unescaped & at {match.start()}")
    for match in re.finditer(r"<(?!/?(?:[a-z-]+)[\s>])", text):
        parser.problems.append(f"unescaped < at {match.start()}")
    parser.feed(text)
    parser.close()
    if parser.stack:
        parser.problems.append(f"unclosed tags {parser.stack}")
    return parser.problems


def telegram_visible_text(text: str) -> str:
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    return "".join(parser.text)


def discord_embed(request: Request) -> dict:
    """The embed Discord makes of the Slack-compatible payload Alertmanager posted."""
    attachment = request.json["attachments"][0]
    return {"title": attachment.get("title", ""), "description": attachment.get("text", ""),
            "color": attachment.get("color", ""), "footer": attachment.get("footer", ""),
            "url": attachment.get("title_link", "")}


class FakeHttpService:
    """An HTTP server that records every request and answers like ``kind`` would."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests: list[Request] = []
        self.refused: list[Request] = []  # answered with an error (forced or invalid)
        self._fail_until = 0.0
        self._fail_status = 500
        # Per-request failure and latency, for partial failures and timeouts.
        self.fail_when: Callable[[Request], bool] | None = None
        self.delay_seconds = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = Request("POST", self.path, dict(self.headers), body, time.time())
                status, answer = fake._answer(request)
                self.send_response(status)
                # Slack's incoming webhooks (and Discord's /slack endpoint) answer a plain-text "ok"
                # (https://api.slack.com/messaging/webhooks); Alertmanager 0.28 reads a body sent as
                # application/json as Slack API JSON and counts "ok" as a failed notification.
                is_json = answer.lstrip().startswith((b"{", b"["))
                self.send_header("Content-Type", "application/json" if is_json else "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def fail_for(self, seconds: float, status: int = 500) -> None:
        """Answer ``status`` to everything for the next ``seconds``."""
        self._fail_status, self._fail_until = status, time.time() + seconds

    def _answer(self, request: Request) -> tuple[int, bytes]:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if time.time() < self._fail_until or (self.fail_when is not None and self.fail_when(request)):
            with self._lock:
                self.refused.append(request)
            return self._fail_status, b'{"error": "forced failure"}'
        status, answer = getattr(self, f"_answer_{self.kind}", self._answer_ok)(request)
        with self._lock:
            (self.requests if status < 300 else self.refused).append(request)
        return status, answer

    def _answer_ok(self, request: Request) -> tuple[int, bytes]:
        return 200, b"ok"

    def _answer_telegram(self, request: Request) -> tuple[int, bytes]:
        if not request.path.startswith(f"/bot{TELEGRAM_TOKEN}/sendMessage"):
            return 404, b'{"ok": false, "error_code": 404, "description": "Not Found"}'
        params = request.json if request.body.startswith(b"{") else request.form
        problems = telegram_html_problems(params.get("text", "")) if params.get("parse_mode") == "HTML" else []
        if problems or len(telegram_visible_text(params.get("text", ""))) > 4096:
            detail = json.dumps({"ok": False, "error_code": 400,
                                 "description": f"Bad Request: can't parse entities: {problems[:3]}"})
            return 400, detail.encode()
        result = {"message_id": len(self.requests) + 1, "date": int(time.time()),
                  "chat": {"id": int(params.get("chat_id", 0)), "type": "supergroup"},
                  "text": telegram_visible_text(params.get("text", ""))}
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer_twilio(self, request: Request) -> tuple[int, bytes]:
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return 401, b'{"code": 20003, "message": "Authenticate"}'
        if request.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return 404, b'{"code": 20404, "message": "Not found"}'
        form = request.form
        if not {"To", "From", "Body"} <= set(form):
            return 400, b'{"code": 21602, "message": "Message body is required."}'
        return 201, json.dumps({"sid": f"SM{len(self.requests):032d}", "status": "queued"}).encode()

    @property
    def received(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, predicate: Callable[[Request], bool] = lambda r: True, timeout: float = 30.0,
                 count: int = 1) -> list[Request]:
        """The accepted requests matching ``predicate`` once there are ``count`` of them."""
        deadline = time.time() + timeout
        while True:
            matching = [r for r in self.received if predicate(r)]
            if len(matching) >= count:
                return matching
            if time.time() > deadline:
                raise AssertionError(
                    f"{self.kind}: {len(matching)}/{count} matching requests after {timeout:.0f}s "
                    f"({len(self.requests)} accepted, {len(self.refused)} refused)"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.received_at: list[float] = []  # when each message arrived (benchmarks/alert_latency.py)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.received_at.append(time.time())
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class FakeSmtp:
    def __init__(self) -> None:
        self._recorder = _Recorder()
        self.port = free_port()  # aiosmtpd cannot bind port 0: it probes the port it was given
        self._controller = Controller(self._recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.smarthost = f"127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._recorder.messages)

    @property
    def arrivals(self) -> list[tuple[float, EmailMessage]]:
        """(arrival time, message) of every message so far."""
        return list(zip(self._recorder.received_at, self._recorder.messages))

    def wait_for(self, predicate: Callable[[EmailMessage], bool] = lambda m: True, timeout: float = 30.0,
                 count: int = 1) -> list[EmailMessage]:
        deadline = time.time() + timeout
        while True:
            matching = [m for m in self.messages if predicate(m)]
            if len(matching) >= count:
                return matching
            if time.time() > deadline:
                raise AssertionError(f"smtp: {len(matching)}/{count} matching messages after {timeout:.0f}s")
            time.sleep(0.2)

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class FakeReceivers:
    discord: FakeHttpService
    telegram: FakeHttpService
    slack: FakeHttpService
    twilio: FakeHttpService
    deadmansswitch: FakeHttpService
    smtp: FakeSmtp
    extra: dict = field(default_factory=dict)

    def render_env(self, sms_relay_url: str | None = None, sms_relay_token: str | None = None,
                   runbook_base_url: str | None = "https://runbooks.example/trader/") -> dict[str, str]:
        """The environment for ``python -m alertmanager.render`` pointing every channel here."""
        env = {
            "DISCORD_WEBHOOK_URL": f"{self.discord.url}/api/webhooks/42/discord-token",
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_CHAT_ID": TELEGRAM_CHAT_ID,
            "TELEGRAM_API_URL": self.telegram.url,
            "SMTP_SMARTHOST": self.smtp.smarthost,
            "SMTP_FROM": "alertmanager@trader.test",
            "SMTP_TO": "oncall@trader.test",
            "SMTP_REQUIRE_TLS": "false",
            "SLACK_WEBHOOK_URL": f"{self.slack.url}/services/T000/B000/slack-token",
            "DEADMANSSWITCH_URL": f"{self.deadmansswitch.url}/ping/dms-token",
            "GRAFANA_URL": "http://grafana.test:3000",
        }
        if runbook_base_url:
            env["RUNBOOK_BASE_URL"] = runbook_base_url
        if sms_relay_url:
            env["SMS_RELAY_URL"] = sms_relay_url
            env["SMS_RELAY_TOKEN"] = sms_relay_token or ""
        return env

    def relay_env(self, relay_token: str, to: str = "+15550001111") -> dict[str, str]:
        """The environment for ``python -m alertmanager.sms`` sending to the fake Twilio."""
        return {"SMS_RELAY_TOKEN": relay_token, "TWILIO_ACCOUNT_SID": TWILIO_SID,
                "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM": "+15559990000", "SMS_TO": to,
                "TWILIO_API_URL": self.twilio.url}

    def stop(self) -> None:
        for service in (self.discord, self.telegram, self.slack, self.twilio, self.deadmansswitch, self.smtp):
            service.stop()


@contextmanager
def start_receivers() -> Iterator[FakeReceivers]:
    started = []
    try:
        for kind in ("discord", "telegram", "slack", "twilio", "deadmansswitch"):
            started.append(FakeHttpService(kind))
        started.append(FakeSmtp())
        fakes = FakeReceivers(*started)
        yield fakes
    finally:
        for service in started:
            service.stop()
