"""Discord: one embed (title, summary as description, a field per section, the chart as its
image) through a webhook, with discord.py's ``Webhook`` on an aiohttp session.

Limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits): title
256, description 4096, 25 fields, field name 256 and value 1024, footer 2048, 6000 characters
in all. The chart is attached as ``chart.png`` and shown with ``attachment://chart.png``
(https://discord.com/developers/docs/reference#uploading-files).

``DISCORD_WEBHOOK_URL`` is ``https://discord.com/api/webhooks/<id>/<token>``; another origin (a
stand-in, a proxy) is honoured by pointing discord.py's API base there for the send.
"""

from __future__ import annotations

import io
from typing import Iterable

import aiohttp
import discord
from discord.http import Route

from ..settings import parse_webhook_url
from ..wording import Words
from .base import Note
from .fit import fit_lines, truncate

__all__ = ["EMBED_LIMITS", "report_embed", "note_embed", "embed_size", "DiscordTransport"]

EMBED_LIMITS = {"title": 256, "description": 4096, "fields": 25, "field_name": 256, "field_value": 1024,
                "footer": 2048, "total": 6000}
_COLOUR = 0x1565C0  # the chart's equity blue


def _len(text: str) -> int:
    return len(text)  # Discord counts characters


def embed_size(embed: discord.Embed) -> int:
    """The characters Discord counts against the 6,000 total."""
    data = embed.to_dict()
    return (len(data.get("title", "")) + len(data.get("description", "")) + len(data.get("footer", {}).get("text", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in data.get("fields", [])))


def report_embed(text: Words) -> discord.Embed:
    limits = EMBED_LIMITS
    embed = discord.Embed(title=truncate(text.title, limits["title"], _len),
                          description="\n".join(fit_lines(text.summary, limits["description"], length=_len)),
                          colour=_COLOUR)
    embed.set_footer(text=truncate(text.footer, limits["footer"], _len))
    embed.set_image(url="attachment://chart.png")
    sections = list(text.sections)[: limits["fields"]]
    for index, section in enumerate(sections):
        lines = [f"{label}: {value}" if label else value for label, value in section.lines]
        left = limits["total"] - embed_size(embed)
        fair = left // (len(sections) - index)  # later sections keep their share
        name = truncate(section.title, limits["field_name"], _len)
        room = min(limits["field_value"], fair - len(name))
        if room < 20:
            break
        embed.add_field(name=name, value="\n".join(fit_lines(lines, room, length=_len)), inline=False)
    return embed


def note_embed(note: Note) -> discord.Embed:
    embed = discord.Embed(title=truncate(note.title, EMBED_LIMITS["title"], _len),
                          description="\n".join(fit_lines(note.lines, EMBED_LIMITS["description"], length=_len)),
                          colour=_COLOUR)
    if note.footer:
        embed.set_footer(text=truncate(note.footer, EMBED_LIMITS["footer"], _len))
    return embed


class DiscordTransport:
    name = "discord"

    def __init__(self, webhook_url: str, timeout: float = 30.0) -> None:
        self.origin, self.webhook_id, self.token = parse_webhook_url(webhook_url)
        self.url = webhook_url
        self.timeout = timeout

    def secrets(self) -> Iterable[str]:
        return (self.token, self.url)

    async def _send(self, embed: discord.Embed, png: bytes | None) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            webhook = discord.Webhook.partial(self.webhook_id, self.token, session=session)
            kwargs = {"file": discord.File(io.BytesIO(png), filename="chart.png")} if png else {}
            # The process has one webhook, so its origin is the process's Discord API base (discord.py's
            # own knob for it, set per API version); for discord.com it is the default.
            Route.BASE = f"{self.origin}/api/v10"
            # wait=True: Discord answers with the created message, so a refusal is an error here.
            await webhook.send(embed=embed, wait=True, **kwargs)

    async def send_report(self, text: Words, png: bytes, html: str) -> None:
        await self._send(report_embed(text), png)

    async def send_note(self, note: Note) -> None:
        await self._send(note_embed(note), None)
