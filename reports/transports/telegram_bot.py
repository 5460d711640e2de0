"""Telegram: the chart as a photo with the summary as its caption, then the details as one
message, in Telegram's HTML subset (https://core.telegram.org/bots/api#formatting-options),
through python-telegram-bot's ``Bot`` pointed at ``TELEGRAM_API_URL``.

Limits (https://core.telegram.org/bots/api#sendphoto, #sendmessage): a caption holds 1024
characters and a message 4096, counted after entity parsing; we count the HTML itself in UTF-16
units, which is never less, so what we send always fits.

    >>> caption, details = report_messages(Words("Daily <test>", ("Equity 1 USDT",), (), "made now"))
    >>> caption
    '<b>Daily &lt;test&gt;</b>\\nEquity 1 USDT'
"""

from __future__ import annotations

import logging
from html import escape
from typing import Iterable

from telegram import Bot
from telegram.request import HTTPXRequest

from alertmanager.settings import Telegram

from ..wording import Section, Words
from .base import Note
from .fit import fit_lines, utf16_len

__all__ = ["CAPTION_LIMIT", "MESSAGE_LIMIT", "report_messages", "note_message", "TelegramTransport"]

CAPTION_LIMIT = 1024
MESSAGE_LIMIT = 4096
# A Bot API URL holds the bot token, and httpx logs every request URL at INFO, httpcore traces at
# DEBUG and python-telegram-bot logs its URLs at DEBUG: keep them above that, whatever the level.
for _name, _level in (("httpx", logging.WARNING), ("httpcore", logging.WARNING), ("telegram", logging.INFO)):
    logging.getLogger(_name).setLevel(_level)


def _e(text: str) -> str:
    return escape(text, quote=False)


def _section_lines(section: Section) -> list[str]:
    return [f"{_e(label)}: {_e(value)}" if label else _e(value) for label, value in section.lines]


def report_messages(text: Words) -> tuple[str, str]:
    """(photo caption, details message), each within its limit."""
    title = f"<b>{_e(text.title)}</b>"
    caption_lines = fit_lines([_e(line) for line in text.summary], CAPTION_LIMIT - utf16_len(title) - 1)
    caption = "\n".join([title, *caption_lines])
    footer = f"<i>{_e(text.footer)}</i>"
    budget = MESSAGE_LIMIT - utf16_len(footer) - 2
    blocks: list[str] = []
    sections = list(text.sections)
    # Every section gets a fair share first, so a long per-symbol list cannot crowd out the risk figures.
    share = budget // max(1, len(sections))
    for index, section in enumerate(sections):
        heading = f"<b>{_e(section.title)}</b>"
        used = utf16_len("\n\n".join(blocks))
        remaining_sections = len(sections) - index
        room = max(share, (budget - used) - share * (remaining_sections - 1)) - utf16_len(heading) - 3
        if room < 20:
            break
        blocks.append("\n".join([heading, *fit_lines(_section_lines(section), room)]))
    return caption, "\n\n".join(blocks + [footer])


def note_message(note: Note) -> str:
    title = f"<b>{_e(note.title)}</b>"
    footer = f"\n<i>{_e(note.footer)}</i>" if note.footer else ""
    lines = fit_lines([_e(line) for line in note.lines], MESSAGE_LIMIT - utf16_len(title + footer) - 1)
    return "\n".join([title, *lines]) + footer


class TelegramTransport:
    name = "telegram"

    def __init__(self, config: Telegram, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    def secrets(self) -> Iterable[str]:
        return (self.config.bot_token,)

    def _bot(self) -> Bot:
        request = HTTPXRequest(connect_timeout=self.timeout, read_timeout=self.timeout, write_timeout=self.timeout,
                               media_write_timeout=self.timeout)
        return Bot(self.config.bot_token, base_url=f"{self.config.api_url}/bot", request=request)

    async def send_report(self, text: Words, png: bytes, html: str) -> None:
        caption, details = report_messages(text)
        async with self._bot() as bot:
            await bot.send_photo(self.config.chat_id, photo=png, filename="chart.png", caption=caption,
                                 parse_mode="HTML")
            await bot.send_message(self.config.chat_id, details, parse_mode="HTML",
                                   disable_web_page_preview=True)

    async def send_note(self, note: Note) -> None:
        async with self._bot() as bot:
            await bot.send_message(self.config.chat_id, note_message(note), parse_mode="HTML",
                                   disable_web_page_preview=True)
