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
