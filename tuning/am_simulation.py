"""Alertmanager's dispatcher and notification pipeline, replayed on simulated time.

Given the alerts Prometheus would have sent (``Episode``: firing at ``fired_at``, resolved at
``resolved_at``) and the rendered config, it reproduces what Alertmanager does with them
(dispatch/dispatch.go, notify/notify.go, inhibit/inhibit.go of Alertmanager 0.28):

- each alert goes to every route it matches (``Route.match``), into the aggregation group of
  that route and its ``group_by`` labels; a new group flushes after ``group_wait`` (at once when
  the alert is older than that and the group never flushed), then every ``group_interval``;
- at a flush, alerts muted by an inhibition rule (a *firing* source matching
  ``source_matchers``, equal on ``equal``, and not itself a target when the target also matches
  the source matchers) are left out; if nothing is left, nothing is sent;
- per integration of the route's receiver, the notification log decides (``DedupStage``): the
  first notification needs a firing alert; then a new firing alert, or all resolved (only if
  it had told of firing ones), or a new resolved alert where ``send_resolved`` applies, or the
  last notification older than ``repeat_interval`` (the log's time is the send's, just after
  the tick, so a repeat equal to the interval goes out every *second* tick); an integration
  without ``send_resolved`` gets only the firing alerts and nothing when there are none;
- resolved alerts leave the group after a flush; an empty group is dropped at the dispatcher's
  next maintenance (every 30 s), so an alert arriving after that starts a new group_wait.

Ties: Prometheus' evaluations, and so the alerts, land on the same instants as group ticks;
an alert arriving at the instant of a flush is taken as arrived before it.

    notes = simulate(episodes, config, start, end)
    notes[0].channel, notes[0].firing      # ("sms", 1)
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .alert_state import Episode
from .am_config import AlertmanagerConfig, Integration, Route

__all__ = ["Notification", "simulate", "MAINTENANCE_SECONDS"]

MAINTENANCE_SECONDS = 30.0  # dispatcher: removes empty aggregation groups this often
_LOG_DELAY = 1e-3  # the notification log stamps the send, a little after the tick


@dataclass(frozen=True)
class Notification:
    at: float
    route: str           # the route's path in the tree ("root/2/0")
    receiver: str
    channel: str
    integration: str
    group: tuple[tuple[str, str], ...]
    firing: int
    resolved: int


@dataclass
class _Alert:
    labels: dict[str, str]
    starts_at: float
    ends_at: float | None

    def resolved(self, now: float) -> bool:
        return self.ends_at is not None and self.ends_at <= now


@dataclass
class _Group:
    key: tuple
    route: Route
    labels: tuple[tuple[str, str], ...]
    alerts: dict[tuple, _Alert] = field(default_factory=dict)
    has_flushed: bool = False
    timer: int = 0  # version of the pending flush event; a reset makes older ones stale


@dataclass(frozen=True)
class _LogEntry:
    firing: frozenset
    resolved: frozenset
    at: float


def _needs_update(entry: _LogEntry | None, firing: frozenset, resolved: frozenset, send_resolved: bool,
                  repeat: float, now: float) -> bool:
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.at < now - repeat


class _Dispatcher:
    def __init__(self, config: AlertmanagerConfig) -> None:
        self.config = config
        self.store: dict[tuple, _Alert] = {}  # every alert Alertmanager knows: inhibition sources
        self.groups: dict[tuple, _Group] = {}
        self.log: dict[tuple, _LogEntry] = {}
        self.sent: list[Notification] = []
        self.queue: list = []
        self.seq = itertools.count()

    def push(self, at: float, order: int, kind: str, payload) -> None:
        heapq.heappush(self.queue, (at, order, next(self.seq), kind, payload))

    # --- alerts -------------------------------------------------------------------------------

    def receive(self, now: float, fp: tuple, alert: _Alert) -> None:
        self.store[fp] = alert
        for route in self.config.route.match(alert.labels):
            group_labels = route.group_labels(alert.labels)
            key = (route.id, group_labels)
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = _Group(key, route, group_labels)
                self._schedule(group, now + route.group_wait)
            group.alerts[fp] = _Alert(dict(alert.labels), alert.starts_at, alert.ends_at)
            if not group.has_flushed and alert.starts_at + route.group_wait < now:
                self._schedule(group, now)

    def _schedule(self, group: _Group, at: float) -> None:
        group.timer += 1
        self.push(at, 1, "flush", (group.key, group.timer))

    # --- inhibition ---------------------------------------------------------------------------

    def muted(self, labels: Mapping[str, str], now: float) -> bool:
        for rule in self.config.inhibit_rules:
            if not all(m.matches(labels) for m in rule.target):
                continue
            two_sided = all(m.matches(labels) for m in rule.source)
            for source in self.store.values():
                if source.resolved(now) or not all(m.matches(source.labels) for m in rule.source):
                    continue
                if any(source.labels.get(n, "") != labels.get(n, "") for n in rule.equal):
                    continue
                if two_sided and all(m.matches(source.labels) for m in rule.target):
                    continue
                return True
        return False

    # --- flushes ------------------------------------------------------------------------------

    def flush(self, now: float, key: tuple, version: int) -> None:
        group = self.groups.get(key)
        if group is None or group.timer != version:
            return
        route = group.route
        self._schedule(group, now + route.group_interval)
        group.has_flushed = True
        if not group.alerts:
            return
        kept = {fp: a for fp, a in group.alerts.items() if not self.muted(a.labels, now)}
        if kept:
            firing = frozenset(fp for fp, a in kept.items() if not a.resolved(now))
            resolved = frozenset(fp for fp, a in kept.items() if a.resolved(now))
            for integration in self.config.receivers.get(route.receiver, ()):
                self._notify(now, group, integration, firing, resolved)
        for fp in [fp for fp, a in group.alerts.items() if a.resolved(now)]:
            del group.alerts[fp]

    def _notify(self, now: float, group: _Group, integration: Integration, firing: frozenset,
                resolved: frozenset) -> None:
        log_key = (group.key, integration.receiver, integration.kind, integration.index)
        entry = self.log.get(log_key)
        if not _needs_update(entry, firing, resolved, integration.send_resolved, group.route.repeat_interval, now):
            return
        if firing or integration.send_resolved:
            self.sent.append(Notification(now, group.route.id, integration.receiver, integration.channel, integration.kind,
                                          group.labels, len(firing),
                                          len(resolved) if integration.send_resolved else 0))
        self.log[log_key] = _LogEntry(firing, resolved, now + _LOG_DELAY)

    def maintenance(self, now: float) -> None:
        for key in [k for k, g in self.groups.items() if not g.alerts]:
            del self.groups[key]

    def run(self, end: float) -> None:
        while self.queue:
            at, _order, _seq, kind, payload = heapq.heappop(self.queue)
            if at > end:
                break
            if kind == "fire" or kind == "resolve":
                fp, alert = payload
                self.receive(at, fp, alert)
            elif kind == "flush":
                self.flush(at, *payload)
            else:
                self.maintenance(at)


def simulate(episodes: Iterable[Episode], config: AlertmanagerConfig, start: float, end: float) -> list[Notification]:
    """Notifications sent in [start, end] for ``episodes`` (Alertmanager started at the first alert)."""
    episodes = sorted(episodes, key=lambda e: e.fired_at)
    if not episodes:
        return []
    origin = episodes[0].fired_at
    dispatcher = _Dispatcher(config)
    for episode in episodes:
        labels = dict(episode.labels)
        dispatcher.push(episode.fired_at, 0, "fire", (episode.labels, _Alert(labels, episode.fired_at, None)))
        if episode.resolved_at is not None:
            dispatcher.push(episode.resolved_at, 0, "resolve",
                            (episode.labels, _Alert(labels, episode.fired_at, episode.resolved_at)))
    # The dispatcher's maintenance runs all along, from Alertmanager's start (here: the first alert).
    tick = origin + MAINTENANCE_SECONDS
    while tick <= end:
        dispatcher.push(tick, 2, "maintenance", None)
        tick += MAINTENANCE_SECONDS
    dispatcher.run(end)
    return [n for n in dispatcher.sent if n.at >= start]
