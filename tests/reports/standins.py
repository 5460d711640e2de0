"""Local stand-ins of the Telegram Bot API and of a Discord webhook, recording what they receive.

Real HTTP servers (aiohttp) on 127.0.0.1, driven by the real libraries (python-telegram-bot,
discord.py), answering with the shapes the services document:

- Telegram (https://core.telegram.org/bots/api): every method is ``POST /bot<token>/<method>``
  and answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description":
  "..."}`` (#making-requests); ``getMe`` returns a User (#getme, #user); ``sendPhoto`` takes
  multipart/form-data with the file in ``photo`` (#sendphoto, #sending-files) and ``sendMessage``
  (#sendmessage) returns the sent Message (#message, #photosize). Captions over 1024 and texts
  over 4096 characters, and HTML outside the allowed tags (#html-style), are refused with 400.
- Discord (https://discord.com/developers/docs/resources/webhook#execute-webhook):
  ``POST /api/v10/webhooks/<id>/<token>?wait=true`` with multipart/form-data, the JSON in
  ``payload_json`` and files in ``files[n]`` (https://discord.com/developers/docs/reference#uploading-files);
  with ``wait=true`` it answers the created Message object
  (https://discord.com/developers/docs/resources/message#message-object). Embeds over their
  limits (#embed-object-embed-limits) are refused with 400 and a JSON error body.

    with TelegramStandIn() as telegram, DiscordStandIn() as discord:
        env = {**telegram.env(), **discord.env()}
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from aiohttp import web

from tests.alertmanager.am_fakes import telegram_html_problems, telegram_visible_text

__all__ = ["TelegramStandIn", "DiscordStandIn", "Received", "TELEGRAM_TOKEN", "TELEGRAM_CHAT_ID", "DISCORD_WEBHOOK_ID",
           "DISCORD_WEBHOOK_TOKEN", "embed_problems"]

TELEGRAM_TOKEN = "123456:TEST-reports_token"
TELEGRAM_CHAT_ID = "-1001234567890"
DISCORD_WEBHOOK_ID = "223456789012345678"
DISCORD_WEBHOOK_TOKEN = "reports-test-webhook-token-" + "x" * 40


@dataclass
class Received:
    method: str  # Telegram method or "execute_webhook"
    fields: dict[str, str]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # field -> (filename, content)
    query: dict[str, str] = field(default_factory=dict)
    json_body: dict | None = None  # a request sent as application/json

    @property
    def payload(self) -> dict:
        """Discord's JSON: ``payload_json`` of a multipart request, or the body of a JSON one."""
        return json.loads(self.fields["payload_json"]) if "payload_json" in self.fields else (self.json_body or {})


class _Server:
    """An aiohttp application served from its own thread and event loop."""

    def __init__(self, app: web.Application) -> None:
        self.received: list[Received] = []
        self.refused: list[tuple[Received, int, str]] = []
        self.fail_next = 0  # answer the next N requests with fail_status
        self.fail_status = 500
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None)
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        started.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def refuse(self, item: Received, status: int, reason: str) -> None:
        with self._lock:
            self.refused.append((item, status, reason))

    def take_failure(self) -> bool:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False

    def wait_for(self, predicate: Callable[[Received], bool] = lambda r: True, count: int = 1,
                 timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matching = [r for r in self.received if predicate(r)]
            if len(matching) >= count:
                return matching
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(matching)}/{count} matching requests after {timeout:g} s "
                                     f"({len(self.received)} received, refused: {[r[1:] for r in self.refused]})")
            time.sleep(0.05)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


async def _read(request: web.Request) -> Received:
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    body = None
    if request.content_type == "application/json":
        body = await request.json()
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    elif request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()
            if part.filename:
                files[part.name] = (part.filename, bytes(data))
            else:
                fields[part.name] = data.decode()
    else:
        fields = {k: v for k, v in (await request.post()).items()}
    return Received(request.match_info.get("method", "execute_webhook"), fields, files, dict(request.query), body)


class TelegramStandIn(_Server):
    CAPTION_LIMIT, TEXT_LIMIT = 1024, 4096

    def __init__(self, token: str = TELEGRAM_TOKEN) -> None:
        self.token = token
        self.message_id = 0
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        super().__init__(app)

    def env(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_CHAT_ID": TELEGRAM_CHAT_ID, "TELEGRAM_API_URL": self.url}

    @staticmethod
    def _error(status: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)

    def _message(self, chat_id: str, **extra) -> dict:
        self.message_id += 1
        return {"message_id": self.message_id, "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "supergroup", "title": "Trader reports"},
                "from": {"id": 123456, "is_bot": True, "first_name": "Reports", "username": "reports_bot"}, **extra}

    async def _handle(self, request: web.Request) -> web.Response:
        item = await _read(request)
        method, fields, files = item.method, item.fields, item.files
        if request.match_info["token"] != self.token:
            self.refuse(item, 401, "token")
            return self._error(401, "Unauthorized")
        if self.take_failure():
            self.refuse(item, self.fail_status, "forced")
            return self._error(self.fail_status, "Internal Server Error")
        if method == "getMe":
            self.record(item)
            return web.json_response({"ok": True, "result": {
                "id": 123456, "is_bot": True, "first_name": "Reports", "username": "reports_bot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}})
        if method not in ("sendPhoto", "sendMessage"):
            self.refuse(item, 404, method)
            return self._error(404, "Not Found: method not found")
        text_field, limit = ("caption", self.CAPTION_LIMIT) if method == "sendPhoto" else ("text", self.TEXT_LIMIT)
        text = fields.get(text_field, "")
        problems = telegram_html_problems(text) if fields.get("parse_mode") == "HTML" else []
        if problems:
            self.refuse(item, 400, f"entities {problems[:3]}")
            return self._error(400, f"Bad Request: can't parse entities: {problems[0]}")
        visible = telegram_visible_text(text) if fields.get("parse_mode") == "HTML" else text
        if len(visible.encode("utf-16-le")) // 2 > limit:
            self.refuse(item, 400, f"{text_field} too long")
            return self._error(400, f"Bad Request: message {text_field} is too long")
        if method == "sendPhoto":
            if "photo" not in files:
                self.refuse(item, 400, "no photo")
                return self._error(400, "Bad Request: there is no photo in the request")
            self.record(item)
            size = len(files["photo"][1])
            photo = [{"file_id": f"AgAC{self.message_id}", "file_unique_id": f"AQAD{self.message_id}",
                      "width": 1080, "height": 1350, "file_size": size}]
            return web.json_response({"ok": True, "result": self._message(fields["chat_id"], photo=photo,
                                                                          caption=visible)})
        self.record(item)
        return web.json_response({"ok": True, "result": self._message(fields["chat_id"], text=visible)})


def embed_problems(embed: dict) -> list[str]:
    """Why Discord would refuse ``embed`` (its documented limits)."""
    problems = []
    fields = embed.get("fields", [])
    if len(embed.get("title", "")) > 256:
        problems.append("title over 256")
    if len(embed.get("description", "")) > 4096:
        problems.append("description over 4096")
    if len(fields) > 25:
        problems.append("over 25 fields")
    for f in fields:
        if not f.get("name") or not f.get("value"):
            problems.append("empty field name or value")
        if len(f.get("name", "")) > 256 or len(f.get("value", "")) > 1024:
            problems.append(f"field {f.get('name', '')[:20]!r} over its limit")
    total = (len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
             + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields))
    if total > 6000:
        problems.append(f"{total} characters in all, over 6000")
    return problems


def _discord_json(body: dict, status: int = 200) -> web.Response:
    # Discord labels its JSON exactly "application/json" (no charset), and discord.py parses a body
    # as JSON only when the header says exactly that.
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


class DiscordStandIn(_Server):
    def __init__(self, webhook_id: str = DISCORD_WEBHOOK_ID, token: str = DISCORD_WEBHOOK_TOKEN) -> None:
        self.webhook_id, self.token = webhook_id, token
        self.message_id = 1_000_000_000_000_000_000
        app = web.Application()
        app.router.add_post("/api/v10/webhooks/{id}/{token}", self._handle)
        super().__init__(app)

    def env(self) -> dict[str, str]:
        return {"DISCORD_WEBHOOK_URL": f"{self.url}/api/webhooks/{self.webhook_id}/{self.token}"}

    @staticmethod
    def _error(status: int, message: str, code: int) -> web.Response:
        return _discord_json({"message": message, "code": code}, status)

    async def _handle(self, request: web.Request) -> web.Response:
        item = await _read(request)
        files = item.files
        if request.match_info["id"] != self.webhook_id or request.match_info["token"] != self.token:
            self.refuse(item, 401, "token")
            return self._error(401, "Invalid Webhook Token", 50027)
        if self.take_failure():
            self.refuse(item, self.fail_status, "forced")
            return self._error(self.fail_status, "Unknown Webhook" if self.fail_status == 404 else "Server Error",
                               10015 if self.fail_status == 404 else 0)
        payload = item.payload
        problems = [p for embed in payload.get("embeds", []) for p in embed_problems(embed)]
        uploaded = {name for name, _ in files.values()}
        for embed in payload.get("embeds", []):
            image = embed.get("image", {}).get("url", "")
            if image.startswith("attachment://") and image[len("attachment://"):] not in uploaded:
                problems.append(f"{image} names no uploaded file")
        if problems:
            self.refuse(item, 400, "; ".join(problems))
            return self._error(400, "Invalid Form Body", 50035)
        self.record(item)
        self.message_id += 1
        attachments = [{"id": str(self.message_id + i), "filename": name, "size": len(content),
                        "url": f"https://cdn.discordapp.com/attachments/1/{self.message_id}/{name}",
                        "proxy_url": f"https://media.discordapp.net/attachments/1/{self.message_id}/{name}",
                        "content_type": "image/png", "width": 1080, "height": 1350}
                       for i, (name, content) in enumerate(files.values())]
        message = {
            "id": str(self.message_id), "type": 0, "channel_id": "323456789012345678",
            "author": {"id": self.webhook_id, "username": "Trader reports", "discriminator": "0000", "avatar": None,
                       "bot": True, "global_name": None},
            "content": payload.get("content", ""), "timestamp": "2026-05-11T00:05:00.000000+00:00",
            "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": attachments, "embeds": payload.get("embeds", []), "pinned": False, "flags": 0,
            "webhook_id": self.webhook_id, "components": [],
        }
        return _discord_json(message)
