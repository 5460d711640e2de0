"""A Telegram Bot API stand-in a bot can talk with: the reports' one (tests/reports/standins.py)
plus what a polling bot needs, shaped as https://core.telegram.org/bots/api documents:

- ``getUpdates`` (#getupdates): long polling; answers the queued Updates (#update) with
  ``update_id`` >= ``offset``, waiting up to ``timeout`` seconds for one; ``deleteWebhook``
  (#deletewebhook) answers ``true``;
- an Update carries a ``message`` (#message) with a ``bot_command`` entity (#messageentity), or a
  ``callback_query`` (#callbackquery: ``id``, ``from``, ``message``, ``chat_instance``, ``data``);
- ``answerCallbackQuery`` (#answercallbackquery) answers ``true``; ``editMessageText``
  (#editmessagetext) the edited Message, refusing text over 4096 characters or bad HTML as
  ``sendMessage`` does.

    with TelegramBot() as telegram:
        telegram.say(user=42, text="/status")
        sent = telegram.wait_for(lambda r: r.method == "sendMessage")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

from aiohttp import web

from tests.alertmanager.am_fakes import telegram_html_problems, telegram_visible_text
from tests.reports.standins import TELEGRAM_CHAT_ID, Received, TelegramStandIn, _read

__all__ = ["TelegramBot", "CHAT_TOKEN", "CHAT_ID", "OPERATOR", "VIEWER", "STRANGER_CHAT"]

CHAT_TOKEN = "987654:TEST-chat_bot_token_value"
CHAT_ID = int(TELEGRAM_CHAT_ID)
OPERATOR, VIEWER = 4242, 5151  # user ids: one in CHAT_OPERATORS, one not
STRANGER_CHAT = -1009999999999  # a chat not on the allow list


class TelegramBot(TelegramStandIn):
    def __init__(self, token: str = CHAT_TOKEN) -> None:
        self._updates: list[dict] = []
        self._ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._arrived: asyncio.Event | None = None
        self.messages: dict[int, dict] = {}  # message_id -> the bot's message as last sent or edited
        self.polls = 0  # getUpdates calls (not recorded: a polling bot makes one every few seconds)
        super().__init__(token)
        self._arrived = asyncio.run_coroutine_threadsafe(self._make_event(), self._loop).result(5)

    async def _make_event(self) -> asyncio.Event:
        return asyncio.Event()

    def env(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_CHAT_ID": str(CHAT_ID), "TELEGRAM_API_URL": self.url}

    # --- what users do ----------------------------------------------------------------------

    @staticmethod
    def _user(user: int) -> dict:
        return {"id": user, "is_bot": False, "first_name": f"User{user}", "username": f"user{user}"}

    def _push(self, update: dict) -> int:
        update_id = next(self._ids)
        update["update_id"] = update_id

        def add() -> None:
            self._updates.append(update)
            self._arrived.set()

        self._loop.call_soon_threadsafe(add)
        return update_id

    def say(self, user: int, text: str, chat: int = CHAT_ID) -> int:
        """A user sends ``text`` (a command) in ``chat``; returns the Update's id."""
        command = text.split()[0]
        self.message_id += 1
        return self._push({"message": {
            "message_id": self.message_id, "date": int(time.time()), "text": text,
            "from": self._user(user), "chat": {"id": chat, "type": "supergroup", "title": "Trader ops"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}})

    def press(self, user: int, message_id: int, data: str) -> str:
        """A user presses a button of the bot's message ``message_id``; returns the query's id."""
        message = self.messages[message_id]
        query_id = str(next(self._callback_ids))
        self._push({"callback_query": {"id": query_id, "from": self._user(user), "message": message,
                                       "chat_instance": "-5500000000000000000", "data": data}})
        return query_id

    # --- what the bot sent ------------------------------------------------------------------

    def sent(self, method: str = "sendMessage") -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.method == method]

    @staticmethod
    def buttons(item: Received) -> list[tuple[str, str]]:
        markup = item.fields.get("reply_markup")
        if not markup:
            return []
        rows = json.loads(markup)["inline_keyboard"]
        return [(b["text"], b["callback_data"]) for row in rows for b in row]

    # --- the API ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method in ("sendPhoto", "getMe") or request.match_info["token"] != self.token:
            return await super()._handle(request)
        if method == "sendMessage":
            # The reports' stand-in checks and records it (the form body is cached: read twice);
            # kept here too, with its keyboard, so a button press can quote it and edits find it.
            answer = await super()._handle(request)
            body = json.loads(answer.body)
            if body["ok"]:
                fields = (await _read(request)).fields
                message = body["result"]
                if fields.get("reply_markup"):
                    message["reply_markup"] = json.loads(fields["reply_markup"])
                self.messages[message["message_id"]] = message
            return answer
        item = await _read(request)
        fields = item.fields
        if method == "deleteWebhook":
            self.record(item)
            return web.json_response({"ok": True, "result": True})
        if method == "getUpdates":
            self.polls += 1
            return await self._get_updates(fields)
        if method == "answerCallbackQuery":
            self.record(item)
            return web.json_response({"ok": True, "result": True})
        if method == "editMessageText":
            problem = self._text_problem(fields)
            if problem:
                self.refuse(item, 400, problem)
                return self._error(400, f"Bad Request: {problem}")
            message_id = int(fields["message_id"])
            if message_id not in self.messages:
                self.refuse(item, 400, "no such message")
                return self._error(400, "Bad Request: message to edit not found")
            self.record(item)
            edited = {**self.messages[message_id], "text": telegram_visible_text(fields["text"]),
                      "edit_date": int(time.time())}
            edited.pop("reply_markup", None)
            if fields.get("reply_markup"):
                edited["reply_markup"] = json.loads(fields["reply_markup"])
            self.messages[message_id] = edited
            return web.json_response({"ok": True, "result": edited})
        self.refuse(item, 404, method)
        return self._error(404, "Not Found: method not found")

    def _text_problem(self, fields: dict) -> str | None:
        text = fields.get("text", "")
        if fields.get("parse_mode") == "HTML":
            problems = telegram_html_problems(text)
            if problems:
                return f"can't parse entities: {problems[0]}"
            text = telegram_visible_text(text)
        if not text.strip():
            return "message text is empty"
        if len(text.encode("utf-16-le")) // 2 > self.TEXT_LIMIT:
            return "message is too long"
        return None

    async def _get_updates(self, fields: dict) -> web.Response:
        offset = int(fields.get("offset") or 0)
        timeout = float(fields.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 30)
        while True:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones are gone
            if self._updates or time.monotonic() >= deadline:
                return web.json_response({"ok": True, "result": list(self._updates)})
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass


# --- Discord: REST and the gateway ----------------------------------------------------------

DISCORD_BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GTest.discord-chat-bot-token-for-tests"
DISCORD_CHANNEL = 323456789012345678
DISCORD_STRANGER_CHANNEL = 323456789012345999
DISCORD_OPERATOR, DISCORD_VIEWER = 423456789012345678, 523456789012345678
DISCORD_APPLICATION = 623456789012345678


def _discord_user(user_id: int, bot: bool = False) -> dict:
    # https://discord.com/developers/docs/resources/user#user-object
    return {"id": str(user_id), "username": f"user{user_id % 1000}", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": bot, "public_flags": 0}


class DiscordBot:
    """Discord's REST API and gateway, as a bot sees them, on 127.0.0.1:

    - REST (https://discord.com/developers/docs/reference): ``GET /api/v10/users/@me`` (the bot's
      user, how discord.py logs in), ``GET /api/v10/gateway/bot``
      (https://discord.com/developers/docs/events/gateway#get-gateway-bot: url, shards,
      session_start_limit), ``POST /api/v10/channels/<id>/messages``
      (https://discord.com/developers/docs/resources/message#create-message: JSON, or multipart
      with ``payload_json`` and ``files[n]``; answers the Message object; content over 2000
      characters or embeds over their limits refused with 400 / code 50035), and
      ``POST /api/v10/interactions/<id>/<token>/callback?with_response=1``
      (https://discord.com/developers/docs/interactions/receiving-and-responding#create-interaction-response:
      answers an interaction callback response object, ``interaction`` + ``resource``). Every request
      needs ``Authorization: Bot <token>`` (the callback is authorised by its token instead).
    - The gateway (https://discord.com/developers/docs/events/gateway): a websocket at ``/gateway``;
      Hello (op 10) first, Identify (op 2) answered with the READY dispatch, Heartbeat (op 1) with
      Heartbeat ACK (op 11); then the test's events as dispatches (op 0): MESSAGE_CREATE and
      INTERACTION_CREATE (a button press: type 3, component_type 2, ``custom_id``), in JSON text
      frames, which discord.py reads as it reads Discord's uncompressed ones.
    """

    def __init__(self, token: str = DISCORD_BOT_TOKEN) -> None:
        from tests.reports.standins import _Server, embed_problems

        self.token = token
        self._embed_problems = embed_problems
        self.identified: list[dict] = []
        self.sent: list[dict] = []  # messages the bot created: the JSON payload, and "files"
        self.callbacks: list[dict] = []  # interaction responses: the JSON payload
        self.refused: list[tuple[str, int, str]] = []
        self.messages: dict[int, dict] = {}
        self._ids = itertools.count(723456789012345678)
        self._seq = itertools.count(2)
        self._sockets: list[web.WebSocketResponse] = []
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_get("/api/v10/gateway/bot", self._gateway_bot)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_post("/api/v10/channels/{channel}/messages", self._create_message)
        app.router.add_post("/api/v10/interactions/{id}/{token}/callback", self._callback)
        self._server = _Server(app)
        self.url = self._server.url
        self._loop = self._server._loop

    def env(self) -> dict[str, str]:
        return {"DISCORD_BOT_TOKEN": self.token, "DISCORD_CHANNEL_ID": str(DISCORD_CHANNEL),
                "DISCORD_API_URL": self.url}

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- REST -------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _refuse(self, what: str, status: int, message: str, code: int) -> web.Response:
        self.refused.append((what, status, message))
        return web.Response(body=json.dumps({"message": message, "code": code}).encode(), status=status,
                            headers={"Content-Type": "application/json"})

    @staticmethod
    def _json(body: object) -> web.Response:
        return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refuse("users/@me", 401, "401: Unauthorized", 0)
        return self._json({**_discord_user(DISCORD_APPLICATION, bot=True), "verified": True, "mfa_enabled": False,
                           "flags": 0, "locale": "en-US"})

    async def _application(self, request: web.Request) -> web.Response:
        # https://discord.com/developers/docs/resources/application#get-current-application
        if not self._authorised(request):
            return self._refuse("applications/@me", 401, "401: Unauthorized", 0)
        return self._json({"id": str(DISCORD_APPLICATION), "name": "Trader chat", "icon": None,
                           "description": "", "bot_public": False, "bot_require_code_grant": False,
                           "owner": _discord_user(DISCORD_OPERATOR), "verify_key": "0" * 64, "flags": 0,
                           "team": None, "summary": ""})

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refuse("gateway/bot", 401, "401: Unauthorized", 0)
        ws = self.url.replace("http://", "ws://") + "/gateway"
        return self._json({"url": ws, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}})

    def _message(self, channel: int, author: dict, content: str, **extra) -> dict:
        # https://discord.com/developers/docs/resources/message#message-object
        return {"id": str(next(self._ids)), "type": 0, "channel_id": str(channel), "author": author,
                "content": content, "timestamp": "2026-05-11T00:05:00.000000+00:00", "edited_timestamp": None,
                "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                "embeds": [], "pinned": False, "flags": 0, "components": [], **extra}

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refuse("create message", 401, "401: Unauthorized", 0)
        item = await _read(request)
        payload = item.payload
        payload["content"] = payload.get("content") or ""  # discord.py sends null with an embed only
        problems = [p for embed in payload.get("embeds") or [] for p in self._embed_problems(embed)]
        if len(payload["content"]) > 2000:
            problems.append("content over 2000")
        if not payload.get("content") and not payload.get("embeds"):
            problems.append("empty message")
        if problems:
            return self._refuse("create message: " + "; ".join(problems), 400, "Invalid Form Body", 50035)
        channel = int(request.match_info["channel"])
        message = self._message(channel, _discord_user(DISCORD_APPLICATION, bot=True), payload.get("content", ""),
                                embeds=payload.get("embeds") or [], components=payload.get("components") or [])
        self.messages[int(message["id"])] = message
        self.sent.append({**payload, "files": list(item.files), "id": message["id"], "channel_id": channel})
        return self._json(message)

    async def _callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        pending = getattr(self, "_pending", {})
        interaction = pending.get(request.match_info["id"])
        if interaction is None or interaction["token"] != request.match_info["token"]:
            return self._refuse("callback", 401, "Invalid interaction application command", 10062)
        data = body.get("data") or {}
        if len(data.get("content", "") or "") > 2000:
            return self._refuse("callback: content over 2000", 400, "Invalid Form Body", 50035)
        self.callbacks.append(body)
        message = interaction["message"]
        if body["type"] == 7:  # UPDATE_MESSAGE: the component's message, edited
            message = {**message, "content": data.get("content", message["content"]),
                       "components": data.get("components", [])}
            self.messages[int(message["id"])] = message
        elif body["type"] == 4:
            message = self._message(int(interaction["channel_id"]), _discord_user(DISCORD_APPLICATION, bot=True),
                                    data.get("content", ""), flags=data.get("flags", 0))
        return self._json({"interaction": {"id": interaction["id"], "type": 3, "response_message_id": message["id"],
                                           "response_message_loading": False,
                                           "response_message_ephemeral": bool(data.get("flags", 0) & 64)},
                           "resource": {"type": body["type"], "message": message}})

    # --- the gateway ------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        async for frame in ws:
            if frame.type != web.WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            if message["op"] == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif message["op"] == 2:
                if message["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                self.identified.append(message["d"])
                ready = {"v": 10, "user": {**_discord_user(DISCORD_APPLICATION, bot=True), "verified": True,
                                           "mfa_enabled": False, "flags": 0},
                         "guilds": [], "session_id": "chat-test-session", "shard": [0, 1],
                         "resume_gateway_url": self.url.replace("http://", "ws://") + "/gateway",
                         "application": {"id": str(DISCORD_APPLICATION), "flags": 0}}
                await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
                self._sockets.append(ws)
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    def _dispatch(self, event: str, data: dict) -> None:
        async def send() -> None:
            for ws in list(self._sockets):
                await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    def say(self, user: int, content: str, channel: int = DISCORD_CHANNEL) -> None:
        """A user posts ``content`` in ``channel`` (a DM channel: no guild to set up)."""
        self._dispatch("MESSAGE_CREATE", self._message(channel, _discord_user(user), content))

    def press(self, user: int, message_id: str, custom_id: str) -> str:
        """A user presses the button ``custom_id`` on the bot's message ``message_id``."""
        message = self.messages[int(message_id)]
        interaction_id = str(next(self._ids))
        interaction = {
            "id": interaction_id, "application_id": str(DISCORD_APPLICATION), "type": 3, "token": f"tok-{interaction_id}",
            "version": 1, "data": {"custom_id": custom_id, "component_type": 2},
            "channel_id": message["channel_id"],
            "channel": {"id": message["channel_id"], "type": 1, "recipients": [_discord_user(user)],
                        "last_message_id": None},
            "user": _discord_user(user), "message": message, "app_permissions": "0", "locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": {}, "context": 1,
            "attachment_size_limit": 10485760,
        }
        self._pending = {**getattr(self, "_pending", {}), interaction_id: interaction}
        self._dispatch("INTERACTION_CREATE", interaction)
        return interaction_id
