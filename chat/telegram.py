"""The Telegram transport: python-telegram-bot, long polling (no inbound port), thin.

Commands are ``/x args`` (``/x@bot`` in groups); alerts carry an inline keyboard whose presses
come back as callback queries (https://core.telegram.org/bots/api#callbackquery): answered at
once (``answerCallbackQuery``), then the alert's message is edited to say what was done
(``editMessageText``). Replies are split into messages of at most 4096 characters in the HTML
subset (#formatting-options); a photo's caption holds 1024. ``TELEGRAM_API_URL`` points the
library at another Bot API server (a local one, or a test's stand-in).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from .commands import Asker, Brain
from .replies import Reply, pages

__all__ = ["TelegramTransport", "MESSAGE_LIMIT", "CAPTION_LIMIT"]

_log = logging.getLogger("chat.telegram")
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
# The Bot API URL holds the token: httpx logs each URL at INFO, python-telegram-bot at DEBUG.
for _name, _level in (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO)):
    logging.getLogger(_name).setLevel(_level)


class TelegramTransport:
    name = "telegram"

    def __init__(self, token: str, api_url: str, brain: Brain, poll_timeout: int = 10) -> None:
        self.brain = brain
        self.poll_timeout = poll_timeout
        self.app = (Application.builder().token(token).base_url(f"{api_url}/bot")
                    .base_file_url(f"{api_url}/file/bot").build())
        self.app.add_handler(MessageHandler(filters.COMMAND, self._on_command))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_error_handler(self._on_error)

    async def run(self, stopping: asyncio.Event) -> None:
        app = self.app
        await app.initialize()
        try:
            await app.updater.start_polling(poll_interval=0.0, timeout=self.poll_timeout,
                                            allowed_updates=["message", "callback_query"])
            await app.start()
            _log.info("telegram bot polling", extra={"bot": app.bot.username})
            await stopping.wait()
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()

    @staticmethod
    def _asker(update: Update) -> Asker:
        user = update.effective_user
        return Asker("telegram", user.id if user else 0, update.effective_chat.id if update.effective_chat else 0,
                     (user.username or user.first_name) if user else "")

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        words = message.text.split()
        name = words[0][1:].split("@", 1)[0]
        replies = await self.brain.command(self._asker(update), name, words[1:])
        await self.send(message.chat_id, replies)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        replies = await self.brain.button(self._asker(update), query.data or "")
        if not replies:  # a refusal already given in this window
            await query.answer()
            return
        first = replies[0]
        await query.answer(text=first.title[:200], show_alert=first.refusal)
        if first.refusal:
            return
        # The alert's message becomes what was done (its buttons go: pressed once is enough).
        texts = pages(first, MESSAGE_LIMIT)
        await query.edit_message_text(texts[0], parse_mode="HTML", reply_markup=self._keyboard(first))
        await self.send(query.message.chat_id, replies[1:])

    @staticmethod
    def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
        if not reply.buttons:
            return None
        return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in reply.buttons]])

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        bot = self.app.bot
        for reply in replies:
            texts = pages(reply, MESSAGE_LIMIT)
            if reply.photo:
                caption = pages(Reply(reply.title, reply.lines[:3]), CAPTION_LIMIT)[0]
                await bot.send_photo(chat_id, photo=reply.photo, filename="chart.png", caption=caption,
                                     parse_mode="HTML")
            for index, text in enumerate(texts):
                last = index == len(texts) - 1
                await bot.send_message(chat_id, text, parse_mode="HTML", disable_web_page_preview=True,
                                       reply_markup=self._keyboard(reply) if last else None)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, TelegramError):
            _log.warning("telegram request failed", extra={"error": f"{type(error).__name__}: {error}"})
        else:
            _log.error("telegram handler failed", exc_info=error)
