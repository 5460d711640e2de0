"""What the service reads from the environment, validated once into a frozen ``Settings``.

The channels are the ones Alertmanager's render step reads, with the same rules (the same code:
``alertmanager.settings``): e-mail (``SMTP_*``), Telegram (``TELEGRAM_*``) and Discord
(``DISCORD_WEBHOOK_URL``). A channel is configured when its variables are set. On top:

- ``REPORTS_CHANNELS``: the configured channels that receive the daily and weekly reports
  (comma separated; default every configured one; ``none`` for none);
- ``REPORTS_PERIODS``: ``day``, ``week`` or both (the default);
- ``REPORTS_TRADE_NOTIFICATIONS``: the channels told of opened and closed positions, off by
  default (``telegram,discord``; ``email`` only when listed);
- ``REPORTS_TRADE_WINDOW_SECONDS``: at most one trade message per channel per window (default 60).

A malformed value is a ``ReportsError`` naming the variable; a secret's value is never shown.

    >>> s = load_settings({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "-100042",
    ...                    "REPORTS_TRADE_NOTIFICATIONS": "telegram"})
    >>> s.configured, s.report_channels, s.trade_channels, s.trade_window_seconds
    (('telegram',), ('telegram',), ('telegram',), 60.0)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from alertmanager.settings import Email, SettingsError, Telegram, load_settings as load_channel_settings

from .errors import ReportsError
from .periods import PERIOD_KINDS

__all__ = ["CHANNELS", "CHANNEL_VARIABLES", "REPORTS_VARIABLES", "VARIABLES", "Settings", "load_settings",
           "DEFAULT_TRADE_WINDOW_SECONDS", "parse_webhook_url"]

CHANNELS = ("email", "telegram", "discord")
# Read with the render step's own validation, so a value it accepts is accepted here too.
CHANNEL_VARIABLES = (
    "SMTP_SMARTHOST", "SMTP_FROM", "SMTP_TO", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_REQUIRE_TLS",
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_URL", "DISCORD_WEBHOOK_URL",
)
REPORTS_VARIABLES = ("REPORTS_CHANNELS", "REPORTS_PERIODS", "REPORTS_TRADE_NOTIFICATIONS",
                     "REPORTS_TRADE_WINDOW_SECONDS")
VARIABLES = CHANNEL_VARIABLES + REPORTS_VARIABLES  # everything the service reads (compose passes these)
DEFAULT_TRADE_WINDOW_SECONDS = 60.0
# A window below this would make "batched" meaningless; above a day, notifications are stale.
_WINDOW_BOUNDS = (5.0, 86_400.0)
_WEBHOOK_PATH = re.compile(r"/api(?:/v\d+)?/webhooks/(?P<id>\d{1,20})/(?P<token>[A-Za-z0-9._-]+)/?$")


@dataclass(frozen=True)
class Settings:
    email: Email | None
    telegram: Telegram | None
    discord_webhook_url: str | None
    report_channels: tuple[str, ...]  # configured channels that receive reports
    periods: tuple[str, ...]
    trade_channels: tuple[str, ...]  # configured channels told of trades (opt-in)
    trade_window_seconds: float

    @property
    def configured(self) -> tuple[str, ...]:
        present = {"email": self.email, "telegram": self.telegram, "discord": self.discord_webhook_url}
        return tuple(name for name in CHANNELS if present[name])


def parse_webhook_url(url: str) -> tuple[str, int, str]:
    """(API origin, webhook id, token) of a Discord webhook URL; a ReportsError (no secret shown) otherwise.

    >>> parse_webhook_url("https://discord.com/api/webhooks/123/abc-DEF")
    ('https://discord.com', 123, 'abc-DEF')
    """
    parts = urlsplit(url)
    match = _WEBHOOK_PATH.search(parts.path)
    if not match:
        raise ReportsError("DISCORD_WEBHOOK_URL (value hidden: it is a secret) is not a webhook URL: expected "
                           "https://discord.com/api/webhooks/<id>/<token>")
    return f"{parts.scheme}://{parts.netloc}", int(match["id"]), match["token"]


def _names(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() == "none":
        return ()
    values = tuple(dict.fromkeys(v.strip().lower() for v in raw.split(",") if v.strip()))
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise ReportsError(f"{name}={raw!r} names {', '.join(map(repr, unknown)) or 'nothing'}: expected a comma "
                           f"separated list of {', '.join(allowed)} (or none)")
    return values


def _configured_only(name: str, wanted: tuple[str, ...], configured: tuple[str, ...]) -> tuple[str, ...]:
    missing = [c for c in wanted if c not in configured]
    if missing:
        raise ReportsError(f"{name} lists {', '.join(missing)}, which is not configured: set its variables "
                           f"(see .env.example) or leave it out")
    return wanted


def _periods(env: Mapping[str, str]) -> tuple[str, ...]:
    periods = _names(env, "REPORTS_PERIODS", PERIOD_KINDS, PERIOD_KINDS)
    if not periods:  # "none": REPORTS_CHANNELS=none is how reports are turned off
        raise ReportsError("REPORTS_PERIODS='none' is not a period: expected day, week or day,week "
                           "(REPORTS_CHANNELS=none turns reports off)")
    return periods


def load_settings(env: Mapping[str, str]) -> Settings:
    """Validate ``env`` (usually ``os.environ``); raises ``ReportsError`` on the first bad value."""
    try:
        channels = load_channel_settings({name: env.get(name, "") for name in CHANNEL_VARIABLES})
    except SettingsError as error:
        raise ReportsError(str(error)) from None
    settings = Settings(email=channels.email, telegram=channels.telegram,
                        discord_webhook_url=channels.discord_webhook_url, report_channels=(), periods=(),
                        trade_channels=(), trade_window_seconds=DEFAULT_TRADE_WINDOW_SECONDS)
    if settings.discord_webhook_url:
        parse_webhook_url(settings.discord_webhook_url)
    configured = settings.configured
    report_channels = _names(env, "REPORTS_CHANNELS", CHANNELS, configured)
    trade_channels = _names(env, "REPORTS_TRADE_NOTIFICATIONS", CHANNELS, ())
    raw_window = env.get("REPORTS_TRADE_WINDOW_SECONDS", "").strip()
    window = DEFAULT_TRADE_WINDOW_SECONDS
    if raw_window:
        try:
            window = float(raw_window)
        except ValueError:
            window = math.nan
        if not (math.isfinite(window) and _WINDOW_BOUNDS[0] <= window <= _WINDOW_BOUNDS[1]):
            raise ReportsError(f"REPORTS_TRADE_WINDOW_SECONDS={raw_window!r} is not a number of seconds between "
                               f"{_WINDOW_BOUNDS[0]:g} and {_WINDOW_BOUNDS[1]:g}")
    return Settings(
        email=settings.email, telegram=settings.telegram, discord_webhook_url=settings.discord_webhook_url,
        report_channels=_configured_only("REPORTS_CHANNELS", report_channels, configured),
        periods=_periods(env),
        trade_channels=_configured_only("REPORTS_TRADE_NOTIFICATIONS", trade_channels, configured),
        trade_window_seconds=window,
    )
