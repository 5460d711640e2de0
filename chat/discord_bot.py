"""The Discord transport: a discord.py gateway bot, thin.

Commands are messages ``!x args`` in an allowed channel (the bot needs the Message Content
intent). Alerts carry buttons (message components,
https://discord.com/developers/docs/interactions/message-components); a press arrives as an
interaction, answered by editing the alert's message into what was done (callback type 7,
UPDATE_MESSAGE), or an ephemeral refusal. Replies are the brain's, their HTML subset turned into
Discord Markdown, split into messages of at most 2000 characters; a report comes as an embed
with its chart attached (embed limits: 4096 description, 6000 in all).

``DISCORD_API_URL`` moves the REST API (``discord.http.Route.BASE``, the one base every request
of discord.py is built on) and the gateway, whose address is asked of that API's
``GET /gateway/bot`` as Discord documents (https://discord.com/developers/docs/events/gateway#get-gateway-bot).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from html import unescape

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket

from .commands import Asker, Brain
from .replies import Reply, pages
from .settings import Settings

__all__ = ["DiscordTransport", "to_markdown", "CONTENT_LIMIT"]

_log = logging.getLogger("chat.discord")
CONTENT_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
VIEW_SECONDS = 3600  # buttons of an alert message answer for an hour; `alerts` again makes new ones
# discord.py logs at INFO who it connects as and at DEBUG every payload (IDENTIFY holds the token).
logging.getLogger("discord").setLevel(logging.INFO)
logging.getLogger("discord.gateway").setLevel(logging.WARNING)
logging.getLogger("discord.http").setLevel(logging.WARNING)


def to_markdown(html: str) -> str:
    """The brain's HTML subset as Discord Markdown (never longer than the HTML).

    >>> to_markdown("<b>Status</b>\\nequity <code>1 &lt; 2</code> <i>now</i>")
    '**Status**\\nequity `1 < 2` *now*'
    """
    text = re.sub(r"</?b>", "**", html)
    text = re.sub(r"</?i>", "*", text)
    text = re.sub(r"</?code>", "`", text)
    text = re.sub(r"</?(u|s|pre|blockquote)>", "", text)
    return unescape(text)


class _Buttons(discord.ui.View):
    def __init__(self, reply: Reply) -> None:
        super().__init__(timeout=VIEW_SECONDS)
        for button in reply.buttons:
            self.add_item(discord.ui.Button(label=button.label[:80], custom_id=button.data[:100],
                                            style=discord.ButtonStyle.secondary))


class DiscordTransport:
    name = "discord"

    def __init__(self, settings: Settings, brain: Brain) -> None:
        self.settings = settings
        self.brain = brain

    async def _point_at(self, api_url: str) -> None:
        """Route REST and the gateway to ``api_url`` (a stand-in, or another deployment)."""
        discord.http.Route.BASE = f"{api_url}/api/v10"
        headers = {"Authorization": f"Bot {self.settings.discord_token}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.get(f"{api_url}/api/v10/gateway/bot", headers=headers) as response:
                response.raise_for_status()
                DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL((await response.json())["url"])

    async def run(self, stopping: asyncio.Event) -> None:
        if self.settings.discord_api_url:
            await self._point_at(self.settings.discord_api_url)
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = intents.message_content = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.5)
        client.event(self._wrap(client, "on_ready"))
        client.event(self._wrap(client, "on_message"))
        client.event(self._wrap(client, "on_interaction"))
        self._client = client
        task = asyncio.create_task(client.start(self.settings.discord_token, reconnect=True))
        stop = asyncio.create_task(stopping.wait())
        try:
            done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # a login or gateway failure: raised to the service, which retries
        finally:
            await client.close()
            stop.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, stop, return_exceptions=True)

    def _wrap(self, client: discord.Client, name: str):
        handler = getattr(self, f"_{name}")

        async def event(*args):
            try:
                await handler(client, *args)
            except discord.HTTPException as error:
                _log.warning("discord request failed", extra={"error": f"{type(error).__name__}: {error}"[:300]})
            except Exception:
                _log.exception("discord handler failed", extra={"event": name})

        event.__name__ = name
        return event

    async def _on_ready(self, client: discord.Client) -> None:
        _log.info("discord bot connected", extra={"bot": str(client.user)})

    async def _on_message(self, client: discord.Client, message: discord.Message) -> None:
        if message.author.bot or not message.content.startswith("!"):
            return
        words = message.content[1:].split()
        if not words:
            return
        asker = Asker("discord", message.author.id, message.channel.id, message.author.name)
        replies = await self.brain.command(asker, words[0], words[1:])
        await self.send(message.channel, replies)

    async def _on_interaction(self, client: discord.Client, interaction: discord.Interaction) -> None:
        if interaction.type != discord.InteractionType.component:
            return
        data = (interaction.data or {}).get("custom_id", "")
        asker = Asker("discord", interaction.user.id, interaction.channel_id or 0, interaction.user.name)
        replies = await self.brain.button(asker, data)
        if not replies:
            await interaction.response.defer()
            return
        first = replies[0]
        if first.refusal:
            await interaction.response.send_message(to_markdown(pages(first, CONTENT_LIMIT)[0]), ephemeral=True)
            return
        # The alert's message becomes what was done; its buttons go (pressed once is enough).
        view = _Buttons(first) if first.buttons else None
        await interaction.response.edit_message(content=to_markdown(pages(first, CONTENT_LIMIT)[0]), view=view)
        if interaction.channel is not None:
            await self.send(interaction.channel, replies[1:])

    async def send(self, channel, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.photo:
                description = to_markdown("\n".join(reply.lines))[:EMBED_DESCRIPTION_LIMIT]
                embed = discord.Embed(title=reply.title[:256], description=description)
                embed.set_image(url="attachment://chart.png")
                await channel.send(embed=embed, file=discord.File(io.BytesIO(reply.photo), filename="chart.png"))
                continue
            texts = pages(reply, CONTENT_LIMIT)
            for index, text in enumerate(texts):
                last = index == len(texts) - 1
                view = _Buttons(reply) if last and reply.buttons else None
                if view is not None:
                    await channel.send(to_markdown(text), view=view)
                else:
                    await channel.send(to_markdown(text))
