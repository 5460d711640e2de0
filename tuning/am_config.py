"""The rendered ``alertmanager.yml`` read the way Alertmanager reads it, for the simulation.

What is read (https://prometheus.io/docs/alerting/latest/configuration/):
- the route tree: ``matchers`` (and the older ``match`` / ``match_re``), ``continue``, and the
  defaults a child inherits from its parent (``receiver``, ``group_by``, ``group_wait``,
  ``group_interval``, ``repeat_interval``); ``group_by: ['...']`` groups by every label;
  Alertmanager's own defaults at the root (30s, 5m, 4h);
- the receivers and their integrations, each mapped to a channel by its *type*:
  ``telegram_configs`` Telegram, ``email_configs`` e-mail, ``discord_configs`` Discord,
  ``slack_configs`` Discord when it posts to a Discord webhook (Discord's Slack-compatible
  endpoint, how the render step sends to Discord) and Slack otherwise, ``sns_configs`` with a
  ``phone_number`` SMS, ``webhook_configs`` SMS when it posts to the SMS relay
  (``SMS_RELAY_URL``, default ``http://sms-relay:9099/alert``), else a plain webhook (the dead
  man's switch is one); ``send_resolved`` with each type's default;
- ``inhibit_rules``: ``source_matchers`` / ``target_matchers`` (or ``source_match[_re]``...) and
  ``equal``.

Time intervals (``mute_time_intervals``, ``active_time_intervals``) are not simulated; a route
using them is reported (``AlertmanagerConfig.unsimulated``).

    config = load_alertmanager_config(Path("alertmanager.yml"), sms_relay_url=None)
    [route.receiver for route in config.route.match({"severity": "critical", ...})]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence
from urllib.parse import urlsplit

import yaml

from .errors import TuningError
from .timeparse import parse_duration

__all__ = ["Matcher", "Route", "Integration", "InhibitRule", "AlertmanagerConfig", "load_alertmanager_config",
           "parse_matchers", "DEFAULT_SMS_RELAY_URL", "CHANNELS"]

DEFAULT_SMS_RELAY_URL = "http://sms-relay:9099/alert"
CHANNELS = ("sms", "telegram", "discord", "email", "slack", "webhook")
# Each integration type's send_resolved default (Alertmanager's configuration reference).
_SEND_RESOLVED_DEFAULT = {
    "email_configs": False, "slack_configs": False, "wechat_configs": False, "telegram_configs": True,
    "discord_configs": True, "webhook_configs": True, "pagerduty_configs": True, "opsgenie_configs": True,
    "pushover_configs": True, "victorops_configs": True, "sns_configs": True, "msteams_configs": True,
    "msteamsv2_configs": True, "webex_configs": True, "jira_configs": True, "rocketchat_configs": True,
}
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        found = re.fullmatch(self.value, value) is not None  # Alertmanager anchors regexes
        return found if self.op == "=~" else not found


def parse_matchers(text: str, where: str) -> list[Matcher]:
    """``severity="critical"``, ``{alertname=~"A|B", category!=meta}`` -> Matchers (Alertmanager's syntax)."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    found, pos = [], 0
    while pos < len(body):
        match = _MATCHER.match(body, pos)
        if match is None or match.end() == pos:
            raise TuningError(f"alertmanager config {where}: matcher {text!r}: expected label=\"value\" "
                              "(or !=, =~, !~)")
        quoted, bare = match.group(3), match.group(4)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        found.append(Matcher(match.group(1), match.group(2), value))
        pos = match.end()
        if pos < len(body):
            if body[pos] != ",":
                raise TuningError(f"alertmanager config {where}: matcher {text!r}: expected ',' between matchers")
            pos += 1
    return found


def _matchers(block: Mapping, prefix: str, where: str) -> tuple[Matcher, ...]:
    out = [m for text in block.get(f"{prefix}matchers", None) or [] for m in parse_matchers(str(text), where)]
    out += [Matcher(k, "=", str(v)) for k, v in (block.get(f"{prefix}match") or {}).items()]
    out += [Matcher(k, "=~", str(v)) for k, v in (block.get(f"{prefix}match_re") or {}).items()]
    return tuple(out)


@dataclass(frozen=True)
class Route:
    id: str                      # the path in the tree, e.g. "root/2/0": a group's key starts with it
    receiver: str
    group_by: tuple[str, ...]
    group_by_all: bool           # group_by: ['...']
    group_wait: float
    group_interval: float
    repeat_interval: float
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    routes: tuple["Route", ...] = ()
    time_intervals: bool = False

    def match(self, labels: Mapping[str, str]) -> list["Route"]:
        """The routes an alert ends in (Alertmanager's ``Route.Match``)."""
        if not all(m.matches(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            matched = child.match(labels)
            found.extend(matched)
            if matched and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        if self.group_by_all:
            return tuple(sorted(labels.items()))
        return tuple((name, labels[name]) for name in sorted(self.group_by) if name in labels)


@dataclass(frozen=True)
class Integration:
    receiver: str
    kind: str          # the config key: telegram_configs, webhook_configs, ...
    index: int
    channel: str       # sms | telegram | discord | email | slack | webhook | <kind without _configs>
    send_resolved: bool


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class AlertmanagerConfig:
    route: Route
    receivers: Mapping[str, tuple[Integration, ...]]
    inhibit_rules: tuple[InhibitRule, ...]
    path: Path
    unsimulated: tuple[str, ...] = field(default=())


def _channel(kind: str, config: Mapping, sms_relay_url: str) -> str:
    if kind == "telegram_configs":
        return "telegram"
    if kind == "email_configs":
        return "email"
    if kind == "discord_configs":
        return "discord"
    if kind == "slack_configs":
        url = urlsplit(str(config.get("api_url", "")))
        discord = (url.hostname or "").endswith(("discord.com", "discordapp.com")) or \
            re.fullmatch(r"/api/webhooks/[^/]+/[^/]+/slack/?", url.path) is not None
        return "discord" if discord else "slack"
    if kind == "sns_configs" and config.get("phone_number"):
        return "sms"
    if kind == "webhook_configs":
        return "sms" if str(config.get("url", "")).rstrip("/") == sms_relay_url.rstrip("/") else "webhook"
    return kind.removesuffix("_configs")


def _route(block: Mapping, parent: Route | None, route_id: str, unsimulated: list[str]) -> Route:
    def inherit(key: str, default):
        if key in block:
            return block[key]
        return default

    where = f"route {route_id}"
    group_by = inherit("group_by", None)
    if group_by is None:
        group_by_names, group_all = (parent.group_by, parent.group_by_all) if parent else ((), False)
    else:
        group_all = "..." in group_by
        group_by_names = tuple(str(g) for g in group_by if g != "...")

    def seconds(key: str, root_default: str) -> float:
        if key in block:
            return parse_duration(block[key], f"alertmanager config {where} {key}")
        return getattr(parent, key) if parent else parse_duration(root_default, key)

    receiver = block.get("receiver") or (parent.receiver if parent else None)
    if not receiver:
        raise TuningError(f"alertmanager config {where}: no receiver (expected one on the root route)")
    if block.get("mute_time_intervals") or block.get("active_time_intervals"):
        unsimulated.append(f"{where}: time intervals")
    route = Route(route_id, str(receiver), group_by_names, group_all, seconds("group_wait", "30s"),
                  seconds("group_interval", "5m"), seconds("repeat_interval", "4h"),
                  _matchers(block, "", where), bool(block.get("continue", False)))
    children = tuple(_route(child, route, f"{route_id}/{i}", unsimulated)
                     for i, child in enumerate(block.get("routes") or []))
    return Route(route.id, route.receiver, route.group_by, route.group_by_all, route.group_wait,
                 route.group_interval, route.repeat_interval, route.matchers, route.continue_, children,
                 bool(block.get("mute_time_intervals") or block.get("active_time_intervals")))


def load_alertmanager_config(path: Path, sms_relay_url: str | None = None) -> AlertmanagerConfig:
    """Read ``path``; ``sms_relay_url`` tells which webhook is the SMS relay (default: the compose one)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise TuningError(f"alertmanager config {path}: cannot read it ({error})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("route"), dict):
        raise TuningError(f"alertmanager config {path}: expected a mapping with a 'route:' block")
    unsimulated: list[str] = []
    route = _route(doc["route"], None, "root", unsimulated)
    relay = sms_relay_url or DEFAULT_SMS_RELAY_URL
    receivers: dict[str, tuple[Integration, ...]] = {}
    for receiver in doc.get("receivers") or []:
        name = str(receiver.get("name"))
        integrations = []
        for kind, configs in receiver.items():
            if not kind.endswith("_configs"):
                continue
            for index, config in enumerate(configs or []):
                send_resolved = bool(config.get("send_resolved", _SEND_RESOLVED_DEFAULT.get(kind, True)))
                integrations.append(Integration(name, kind, index, _channel(kind, config, relay), send_resolved))
        receivers[name] = tuple(integrations)
    inhibit = tuple(InhibitRule(_matchers(rule, "source_", f"inhibit_rules[{i}]"),
                                _matchers(rule, "target_", f"inhibit_rules[{i}]"),
                                tuple(str(e) for e in rule.get("equal") or ()))
                    for i, rule in enumerate(doc.get("inhibit_rules") or []))
    _check_receivers(route, receivers, path)
    return AlertmanagerConfig(route, receivers, inhibit, Path(path), tuple(unsimulated))


def _check_receivers(route: Route, receivers: Mapping[str, Sequence[Integration]], path: Path) -> None:
    if route.receiver not in receivers:
        raise TuningError(f"alertmanager config {path}: route {route.id} names receiver {route.receiver!r}, "
                          "which is not defined")
    for child in route.routes:
        _check_receivers(child, receivers, path)
