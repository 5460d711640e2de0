"""The chat service's settings, read once from the environment into a frozen object.

    >>> s = load_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "-100, 42", "CHAT_OPERATORS": "7,discord:9"})
    >>> sorted(s.telegram_chats), s.is_operator("telegram", 7), s.is_operator("telegram", 9), s.is_operator("discord", 9)
    ([-100, 42], True, False, True)
    >>> load_settings({})
    Traceback (most recent call last):
    ...
    chat.settings.SettingsError: chat: no bot token: set TELEGRAM_BOT_TOKEN (with TELEGRAM_CHAT_ID) or DISCORD_BOT_TOKEN (with DISCORD_CHANNEL_ID)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

__all__ = ["Settings", "SettingsError", "load_settings"]


class SettingsError(ValueError):
    """A bad or missing variable; ``str()`` is the one line shown at start."""


@dataclass(frozen=True)
class Settings:
    telegram_token: str | None
    telegram_chats: frozenset[int]
    telegram_api_url: str
    discord_token: str | None
    discord_channels: frozenset[int]
    # Another Discord API (a test's stand-in); None: Discord itself. The gateway's address comes
    # from that API's GET /gateway/bot, as Discord documents, so one URL moves both.
    discord_api_url: str | None
    operators: frozenset[str]  # "telegram:42", "discord:9", or a bare id for either
    prometheus_url: str
    alertmanager_url: str
    trader_url: str
    control_token_file: str
    reports_url: str | None
    account: str  # the paper account commands act on when none is named
    # The `trader` label (prometheus/README.md "Several traders") of the trader at trader_url:
    # figures of other traders scraped by the same Prometheus never mix into the replies.
    trader: str
    ack_check_seconds: float
    health_port: int  # /healthz on 127.0.0.1 (compose's health check); 0: any free port (tests)

    def is_operator(self, platform: str, user_id: int | str) -> bool:
        return f"{platform}:{user_id}" in self.operators or str(user_id) in self.operators

    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a log line or a reply."""
        return tuple(t for t in (self.telegram_token, self.discord_token) if t)


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    text = (env.get(name) or "").strip()
    out = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.add(int(part))
        except ValueError:
            raise SettingsError(f"chat: {name} = {part!r}: expected numeric ids, comma-separated") from None
    return frozenset(out)


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = (env.get(name) or "").strip() or default
    if value is not None and not value.startswith(("http://", "https://", "ws://", "wss://")):
        raise SettingsError(f"chat: {name} = {value!r}: expected an http(s):// URL")
    return value.rstrip("/") if value else None


def load_settings(env: Mapping[str, str]) -> Settings:
    telegram = (env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None
    discord = (env.get("DISCORD_BOT_TOKEN") or "").strip() or None
    if telegram is None and discord is None:
        raise SettingsError("chat: no bot token: set TELEGRAM_BOT_TOKEN (with TELEGRAM_CHAT_ID) "
                            "or DISCORD_BOT_TOKEN (with DISCORD_CHANNEL_ID)")
    chats, channels = _ids(env, "TELEGRAM_CHAT_ID"), _ids(env, "DISCORD_CHANNEL_ID")
    if telegram and not chats:
        raise SettingsError("chat: TELEGRAM_CHAT_ID is empty: expected the allowed chat ids, comma-separated")
    if discord and not channels:
        raise SettingsError("chat: DISCORD_CHANNEL_ID is empty: expected the allowed channel ids, comma-separated")
    operators = frozenset(p.strip() for p in (env.get("CHAT_OPERATORS") or "").split(",") if p.strip())
    try:
        ack_seconds = float(env.get("CHAT_ACK_CHECK_SECONDS") or 30)
    except ValueError:
        ack_seconds = -1
    if not ack_seconds > 0:
        raise SettingsError(f"chat: CHAT_ACK_CHECK_SECONDS = {env.get('CHAT_ACK_CHECK_SECONDS')!r}: expected seconds > 0")
    port_text = (env.get("CHAT_HEALTH_PORT") or "9120").strip()
    if not port_text.isdigit() or int(port_text) > 65535:
        raise SettingsError(f"chat: CHAT_HEALTH_PORT = {port_text!r}: expected a port number from 0 to 65535")
    return Settings(
        telegram_token=telegram, telegram_chats=chats,
        telegram_api_url=_url(env, "TELEGRAM_API_URL", "https://api.telegram.org"),
        discord_token=discord, discord_channels=channels,
        discord_api_url=_url(env, "DISCORD_API_URL", None),
        operators=operators,
        prometheus_url=_url(env, "PROMETHEUS_URL", "http://prometheus:9090"),
        alertmanager_url=_url(env, "ALERTMANAGER_URL", "http://alertmanager:9093"),
        trader_url=_url(env, "TRADER_URL", "http://trader:8000"),
        control_token_file=(env.get("TRADER_CONTROL_TOKEN_FILE") or "/data/state/control-token").strip(),
        reports_url=_url(env, "REPORTS_URL", None),
        account=(env.get("CHAT_ACCOUNT") or "main").strip(),
        trader=(env.get("CHAT_TRADER") or "trader").strip(),
        ack_check_seconds=ack_seconds, health_port=int(port_text),
    )
