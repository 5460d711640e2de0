"""One Alertmanager receiver per channel, built from the validated settings.

Every field used here exists in Alertmanager 0.25 and is still accepted by 0.27/0.28; no
``*_file`` variant (0.25 has none for these URLs) and no environment expansion (Alertmanager
never does it): the values are written into the rendered file, which is why it is mode 0600.

Discord goes through Discord's Slack-compatible endpoint (``<webhook>/slack``) with a
``slack_configs`` receiver: Alertmanager's own ``discord_configs`` always colours the embed red
(firing) or green (resolved), while the Slack attachment ``color`` is a template, so the embed
is coloured by severity. Discord turns the attachment into an embed (title, description, colour,
footer), with the same limits as a native embed.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .routing import BLACKHOLE
from .settings import Settings

__all__ = ["receivers", "discord_slack_url"]


def discord_slack_url(webhook_url: str) -> str:
    """``https://discord.com/api/webhooks/<id>/<token>`` -> the same URL ending in ``/slack``."""
    parts = urlsplit(webhook_url)
    path = parts.path.rstrip("/")
    if not path.endswith("/slack"):
        path += "/slack"
    return urlunsplit(parts._replace(path=path))


def _slack_style(api_url: str, flavour: str) -> dict:
    """A ``slack_configs`` entry using the ``<flavour>.trader.*`` templates."""
    return {
        "api_url": api_url,
        "send_resolved": True,
        "username": "Alertmanager",
        "title": f'{{{{ template "{flavour}.trader.title" . }}}}',
        "title_link": f'{{{{ template "{flavour}.trader.title_link" . }}}}',
        "text": f'{{{{ template "{flavour}.trader.text" . }}}}',
        "color": f'{{{{ template "{flavour}.trader.color" . }}}}',
        "fallback": f'{{{{ template "{flavour}.trader.title" . }}}}',
        "footer": f'{{{{ template "{flavour}.trader.footer" . }}}}',
    }


def receivers(settings: Settings) -> list[dict]:
    result: list[dict] = [{"name": BLACKHOLE}]  # no integration: what reaches it is dropped on purpose
    if settings.sms:
        result.append({"name": "sms", "webhook_configs": [{
            "url": settings.sms.relay_url,
            # An SMS says "it broke"; "it is fixed" can wait for the other channels.
            "send_resolved": False,
            "http_config": {"authorization": {"type": "Bearer", "credentials": settings.sms.relay_token}},
        }]})
    if settings.telegram:
        result.append({"name": "telegram", "telegram_configs": [{
            "api_url": settings.telegram.api_url,
            "bot_token": settings.telegram.bot_token,
            "chat_id": settings.telegram.chat_id,
            "parse_mode": "HTML",
            "send_resolved": True,
            "message": '{{ template "telegram.trader.message" . }}',
        }]})
    if settings.discord_webhook_url:
        result.append({"name": "discord", "slack_configs": [
            _slack_style(discord_slack_url(settings.discord_webhook_url), "discord")]})
    if settings.email:
        email = settings.email
        config = {
            "to": email.to,
            "from": email.sender,
            "smarthost": email.smarthost,
            "require_tls": email.require_tls,
            "send_resolved": True,
            "headers": {"Subject": '{{ template "email.trader.subject" . }}'},
            "html": '{{ template "email.trader.html" . }}',
            "text": '{{ template "email.trader.text" . }}',
        }
        if email.username:
            config.update(auth_username=email.username, auth_password=email.password)
        result.append({"name": "email", "email_configs": [config]})
    if settings.slack_webhook_url:
        result.append({"name": "slack", "slack_configs": [_slack_style(settings.slack_webhook_url, "slack")]})
    if settings.deadmansswitch_url:
        result.append({"name": "deadmansswitch", "webhook_configs": [{
            "url": settings.deadmansswitch_url,
            "send_resolved": False,  # a ping; the switch only cares that pings keep coming
        }]})
    return result
