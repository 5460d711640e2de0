"""One candidate threshold through the whole chain: the alert's query over the range, Prometheus'
alert states, Alertmanager's notifications; and the figures a user reads from them.

    plan = Plan(rules, alert, threshold, start, end, global_interval, for_override=None)
    outcome = evaluate(api, plan, 0.12, am_config)
    outcome.alerts, outcome.firing_seconds, outcome.per_channel()
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .alert_state import Episode, alert_labels, replay_alert
from .am_config import AlertmanagerConfig
from .am_simulation import Notification, simulate
from .expression import with_thresholds
from .prom_api import PrometheusAPI
from .rules import AlertRule, RuleSet, Threshold

__all__ = ["Plan", "Outcome", "evaluate", "rule_episodes", "WEEK"]

WEEK = 7 * 86400.0


@dataclass(frozen=True)
class Plan:
    rules: RuleSet
    alert: tuple[AlertRule, ...]
    threshold: Threshold
    start: float
    end: float
    global_interval: float
    for_override: float | None = None

    def interval(self, rule: AlertRule) -> float:
        return rule.interval or self.global_interval

    def hold(self, rule: AlertRule) -> float:
        return rule.for_seconds if self.for_override is None else self.for_override

    @property
    def seconds(self) -> float:
        return max(self.end - self.start, 1e-9)


@dataclass(frozen=True)
class Outcome:
    value: float
    start: float
    end: float
    episodes: tuple[Episode, ...]               # firing at some time in [start, end]
    notifications: tuple[Notification, ...] = field(default=())

    def _span(self, e: Episode) -> float:
        return max(0.0, min(e.resolved_at if e.resolved_at is not None else self.end, self.end) - max(e.fired_at, self.start))

    @property
    def alerts(self) -> int:
        return len(self.episodes)

    @property
    def firing_seconds(self) -> float:
        return sum(self._span(e) for e in self.episodes)

    @property
    def longest_seconds(self) -> float:
        return max((self._span(e) for e in self.episodes), default=0.0)

    @property
    def first_fired(self) -> float | None:
        return min((e.fired_at for e in self.episodes), default=None)

    @property
    def last_fired(self) -> float | None:
        return max((e.fired_at for e in self.episodes), default=None)

    def per_channel(self) -> dict[str, int]:
        return dict(Counter(n.channel for n in self.notifications))

    def per_receiver(self) -> dict[str, int]:
        return dict(Counter(n.receiver for n in self.notifications))

    @property
    def pages(self) -> int:
        """Notifications carrying a firing alert, on the channel that got the most of them."""
        firing = Counter(n.channel for n in self.notifications if n.firing)
        return max(firing.values(), default=0)

    @property
    def pages_per_week(self) -> float:
        return self.pages * WEEK / max(self.end - self.start, 1e-9)


def _steps(first: float, end: float, interval: float) -> list[float]:
    count = int(math.floor((end - first) / interval + 1e-9)) + 1
    return [round(first + k * interval, 3) for k in range(max(count, 0))]


def rule_episodes(api: PrometheusAPI, rules: RuleSet, rule: AlertRule, values: dict[Threshold, float],
                  start: float, end: float, interval: float, hold: float) -> list[Episode]:
    """The episodes of one alerting rule over [start, end], its thresholds at ``values`` (the others
    as their rule files say), evaluated every ``interval`` with ``for`` = ``hold``."""
    # Start early enough that an alert pending or kept firing across the range's start is seen.
    warm = hold + rule.keep_firing_for_seconds
    first = math.ceil((start - warm) / interval) * interval
    steps = _steps(first, end, interval)
    if not steps:
        return []
    expr = with_thresholds(rule.expr, values, rules)
    points: dict[tuple, dict[float, float]] = {}
    for labels, samples in api.query_range(expr, steps[0], steps[-1], interval):
        key = alert_labels(labels, rule.labels, rule.name)
        bucket = points.setdefault(key, {})
        for t, v in samples:
            bucket[round(t, 3)] = v
    return replay_alert(points, steps, for_seconds=hold, keep_firing_for_seconds=rule.keep_firing_for_seconds)


def evaluate(api: PrometheusAPI, plan: Plan, value: float, am_config: AlertmanagerConfig) -> Outcome:
    """Replay the alert with the threshold at ``value`` over the plan's range."""
    all_episodes: list[Episode] = []
    for rule in plan.alert:
        all_episodes.extend(rule_episodes(api, plan.rules, rule, {plan.threshold: value}, plan.start, plan.end,
                                          plan.interval(rule), plan.hold(rule)))
    in_range = tuple(e for e in all_episodes
                     if e.fired_at <= plan.end and (e.resolved_at is None or e.resolved_at > plan.start))
    notifications = tuple(simulate(all_episodes, am_config, plan.start, plan.end))
    return Outcome(value, plan.start, plan.end, in_range, notifications)
