"""The notification settings read from the environment, validated once into frozen objects.

A channel is enabled when its variables are set, and left out when they are all unset. A
half-configured channel (a bot token without a chat id) or a malformed value is a
``SettingsError`` whose message is one line naming the variable and what was expected. Secret
values (tokens, passwords, webhook URLs, which carry a token in their path) never appear in
that message.

    >>> s = load_settings({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "-100042"})
    >>> s.telegram.chat_id, s.discord_webhook_url is None, s.grafana_url
    (-100042, True, 'http://localhost:3000')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

__all__ = [
    "SettingsError", "Settings", "Telegram", "Email", "Sms", "load_settings",
    "DEFAULT_GRAFANA_URL", "DEFAULT_TELEGRAM_API_URL",
]

DEFAULT_GRAFANA_URL = "http://localhost:3000"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"

# Variables whose value must never be printed: they grant access to a channel.
SECRET_VARIABLES = frozenset({
    "DISCORD_WEBHOOK_URL", "SLACK_WEBHOOK_URL", "TELEGRAM_BOT_TOKEN", "SMTP_PASSWORD",
    "SMS_RELAY_TOKEN", "SMS_RELAY_URL", "DEADMANSSWITCH_URL", "TWILIO_AUTH_TOKEN",
})


class SettingsError(ValueError):
    """A bad environment value; ``str()`` is the one line to show the user."""


@dataclass(frozen=True)
class Telegram:
    bot_token: str
    chat_id: int
    api_url: str


@dataclass(frozen=True)
class Email:
    smarthost: str  # host:port
    sender: str
    to: str
    username: str | None
    password: str | None
    require_tls: bool


@dataclass(frozen=True)
class Sms:
    relay_url: str
    relay_token: str


@dataclass(frozen=True)
class Settings:
    discord_webhook_url: str | None
    telegram: Telegram | None
    email: Email | None
    sms: Sms | None
    slack_webhook_url: str | None
    deadmansswitch_url: str | None
    grafana_url: str
    runbook_base_url: str | None  # None: runbooks are shown as repository paths, not links

    def enabled_channels(self) -> list[str]:
        names = {
            "sms": self.sms, "telegram": self.telegram, "discord": self.discord_webhook_url,
            "email": self.email, "slack": self.slack_webhook_url,
            "deadmansswitch": self.deadmansswitch_url,
        }
        return [name for name, value in names.items() if value]


def _shown(name: str, value: str) -> str:
    return "(value hidden: it is a secret)" if name in SECRET_VARIABLES else f"{value!r}"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _url(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = _get(env, name) or default
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}={_shown(name, value)} is not a URL: expected http(s)://host[:port]/path")
    if any(c.isspace() for c in value):
        raise SettingsError(f"{name}={_shown(name, value)} contains whitespace: expected one URL")
    return value


def _together(env: Mapping[str, str], names: tuple[str, ...], channel: str) -> bool:
    """True when all ``names`` are set, False when none is; an error when only some are."""
    present = [n for n in names if _get(env, n)]
    if present and len(present) < len(names):
        missing = [n for n in names if n not in present]
        raise SettingsError(
            f"{channel} is half configured: {', '.join(present)} set but {', '.join(missing)} unset "
            f"(set all of {', '.join(names)} or none)"
        )
    return bool(present)


def _telegram(env: Mapping[str, str]) -> Telegram | None:
    if not _together(env, ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"), "Telegram"):
        return None
    token = _get(env, "TELEGRAM_BOT_TOKEN")
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
        raise SettingsError("TELEGRAM_BOT_TOKEN (value hidden: it is a secret) is not a bot token: "
                            "expected <digits>:<letters, digits, _ or -> as BotFather gives it")
    chat_id = _get(env, "TELEGRAM_CHAT_ID")
    if not re.fullmatch(r"-?\d{1,20}", chat_id):
        raise SettingsError(f"TELEGRAM_CHAT_ID={chat_id!r} is not a number: expected a numeric chat id "
                            "such as 123456789 or -1001234567890 (not an @username)")
    api_url = _url(env, "TELEGRAM_API_URL", DEFAULT_TELEGRAM_API_URL)
    return Telegram(bot_token=token, chat_id=int(chat_id), api_url=api_url.rstrip("/"))


def _address(env: Mapping[str, str], name: str) -> str:
    value = _get(env, name)
    addresses = [a.strip() for a in value.split(",")]
    for address in addresses:
        if not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+", address):
            raise SettingsError(f"{name}={value!r} is not an e-mail address: expected name@domain.tld "
                                "(several separated by commas for SMTP_TO)")
    return ", ".join(addresses)


def _email(env: Mapping[str, str]) -> Email | None:
    if not _together(env, ("SMTP_SMARTHOST", "SMTP_FROM", "SMTP_TO"), "E-mail"):
        return None
    smarthost = _get(env, "SMTP_SMARTHOST")
    match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})", smarthost)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise SettingsError(f"SMTP_SMARTHOST={smarthost!r} is not host:port: expected e.g. "
                            "smtp.gmail.com:587 (the port is required)")
    username, password = _get(env, "SMTP_USERNAME"), _get(env, "SMTP_PASSWORD")
    if bool(username) != bool(password):
        raise SettingsError("E-mail is half configured: set both SMTP_USERNAME and SMTP_PASSWORD, or neither")
    tls = (_get(env, "SMTP_REQUIRE_TLS") or "true").lower()
    if tls not in ("true", "false"):
        raise SettingsError(f"SMTP_REQUIRE_TLS={tls!r} is not a boolean: expected true or false")
    sender = _address(env, "SMTP_FROM")
    if "," in sender:
        raise SettingsError(f"SMTP_FROM={sender!r} holds several addresses: expected exactly one")
    return Email(smarthost=smarthost, sender=sender, to=_address(env, "SMTP_TO"),
                 username=username, password=password, require_tls=tls == "true")


def _sms(env: Mapping[str, str]) -> Sms | None:
    if not _together(env, ("SMS_RELAY_URL", "SMS_RELAY_TOKEN"), "SMS"):
        return None
    token = _get(env, "SMS_RELAY_TOKEN")
    if any(c.isspace() for c in token):
        raise SettingsError("SMS_RELAY_TOKEN (value hidden: it is a secret) contains whitespace: "
                            "expected one opaque token")
    return Sms(relay_url=_url(env, "SMS_RELAY_URL"), relay_token=token)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Validate ``env`` (usually ``os.environ``); raises ``SettingsError`` on the first bad value."""
    runbook = _url(env, "RUNBOOK_BASE_URL")
    if runbook and not runbook.endswith("/"):
        runbook += "/"  # runbook_url annotations are relative paths: docs/runbooks/<alert>.md
    return Settings(
        discord_webhook_url=_url(env, "DISCORD_WEBHOOK_URL"),
        telegram=_telegram(env),
        email=_email(env),
        sms=_sms(env),
        slack_webhook_url=_url(env, "SLACK_WEBHOOK_URL"),
        deadmansswitch_url=_url(env, "DEADMANSSWITCH_URL"),
        grafana_url=_url(env, "GRAFANA_URL", DEFAULT_GRAFANA_URL).rstrip("/"),
        runbook_base_url=runbook,
    )
