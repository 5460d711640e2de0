"""The channels Alertmanager really runs, read from the configuration it loaded.

``GET /api/v2/status`` returns the loaded configuration as YAML in ``config.original``
(https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml, ``alertmanagerStatus``),
with secrets already replaced by ``<secret>``. A channel is a receiver with at least one
integration (``slack_configs``, ``telegram_configs``...); the integration names are the
``integration`` label of Alertmanager's notification counters. Nothing but receiver names and
integration kinds ever leaves this module: never a URL, token or address.

    >>> config = '''
    ... route: {receiver: blackhole}
    ... receivers:
    ...   - name: blackhole
    ...   - name: discord
    ...     slack_configs: [{api_url: <secret>}]
    ... '''
    >>> [(c.name, c.integrations) for c in channels_of(config)]
    [('discord', (('slack', 1),))]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from alertmanager.routing import TEST_ALERTNAME, TEST_CHANNEL_LABEL
from doctor.http import BadAnswer

__all__ = ["Channel", "channels_of", "probe_route", "probe_receivers", "load_config", "seconds"]

_SUFFIX = "_configs"


@dataclass(frozen=True)
class Channel:
    name: str  # the receiver: "discord", "telegram", "email", "sms", "slack", "deadmansswitch"
    integrations: tuple[tuple[str, int], ...]  # (integration label value, how many configs), sorted

    def describe(self) -> str:
        kinds = ", ".join(kind if count == 1 else f"{count}x {kind}" for kind, count in self.integrations)
        return self.name if kinds == self.name else f"{self.name} ({kinds})"


def load_config(original: str) -> dict:
    try:
        config = yaml.safe_load(original)
    except yaml.YAMLError as error:
        raise BadAnswer(f"the loaded configuration is not YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise BadAnswer("the loaded configuration is empty")
    return config


def channels_of(original: str) -> list[Channel]:
    channels = []
    for receiver in load_config(original).get("receivers") or []:
        kinds = sorted((key[: -len(_SUFFIX)], len(value)) for key, value in receiver.items()
                       if key.endswith(_SUFFIX) and value)
        if kinds:
            channels.append(Channel(receiver["name"], tuple(kinds)))
    return channels


def _matchers(route: dict) -> list[str]:
    return [m.replace(" ", "") for m in route.get("matchers") or []]


def probe_route(original: str) -> dict | None:
    """The route ``alertmanager/routing.py`` adds for StackTestNotification; None when the loaded
    config predates it."""
    pending = [load_config(original).get("route") or {}]
    while pending:
        route = pending.pop()
        if f'alertname="{TEST_ALERTNAME}"' in _matchers(route):
            return route
        pending.extend(route.get("routes") or [])
    return None


def probe_receivers(original: str) -> dict[str, str]:
    """``channel`` label value -> receiver, for the routes under the StackTestNotification route."""
    receivers = {}
    for child in (probe_route(original) or {}).get("routes") or []:
        for matcher in _matchers(child):
            name, _, value = matcher.partition("=")
            if name == TEST_CHANNEL_LABEL:
                receivers[value.strip('"')] = child["receiver"]
    return receivers


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    """A Prometheus duration in seconds.

    >>> seconds("1m30s"), seconds("10s"), seconds("500ms")
    (90.0, 10.0, 0.5)
    """
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise BadAnswer(f"{duration!r} is not a duration")
    return float(sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
