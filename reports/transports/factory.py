"""The transports of the configured channels: one registration per channel."""

from __future__ import annotations

from ..settings import Settings
from .base import Transport
from .discord_webhook import DiscordTransport
from .mail import EmailTransport
from .telegram_bot import TelegramTransport

__all__ = ["build_transports"]


def build_transports(settings: Settings, timeout: float = 30.0) -> dict[str, Transport]:
    """``{channel: transport}`` for every configured channel, in ``CHANNELS`` order."""
    made: dict[str, Transport] = {}
    if settings.email:
        made["email"] = EmailTransport(settings.email, timeout)
    if settings.telegram:
        made["telegram"] = TelegramTransport(settings.telegram, timeout)
    if settings.discord_webhook_url:
        made["discord"] = DiscordTransport(settings.discord_webhook_url, timeout)
    return made
