"""Prometheus' alert state machine, replayed over a range query's results.

Prometheus evaluates an alerting rule every ``interval``; each label set in the result is an
alert (rules/alerting.go, ``AlertingRule.Eval``):

- new (or back after being resolved): *pending*, ``active_at`` = this evaluation;
- pending and ``now - active_at >= for``: *firing*, ``fired_at`` = now (with ``for: 0s`` in the
  same evaluation it appeared);
- missing from the result while pending: dropped, it never fired;
- missing while firing: with ``keep_firing_for``, it keeps firing until it has been missing that
  long (``now - keep_firing_since >= keep_firing_for``; back in the result resets the count);
  then *resolved*, ``resolved_at`` = that evaluation. Prometheus sends ``startsAt = fired_at``
  and ``endsAt = resolved_at`` to Alertmanager.

The label sets are independent, so each is replayed on its own over the evaluation steps.

    episodes = replay_alert(points_by_labels, steps, for_seconds=30, keep_firing_for_seconds=0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

__all__ = ["Episode", "replay_alert", "alert_labels"]

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Episode:
    """One firing of one alert (label set): from ``fired_at`` until ``resolved_at`` (None: still firing)."""

    labels: Labels
    active_at: float
    fired_at: float
    resolved_at: float | None
    peak: float  # the highest value the expression had while it fired

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")


def alert_labels(series_labels: Mapping[str, str], rule_labels: Sequence[tuple[str, str]], alertname: str) -> Labels:
    """The alert's label set as Prometheus builds it: the result's labels without ``__name__``, the
    rule's labels on top, ``alertname`` last."""
    labels = {k: v for k, v in series_labels.items() if k != "__name__"}
    labels.update(rule_labels)
    labels["alertname"] = alertname
    return tuple(sorted(labels.items()))


def replay_alert(points: Mapping[Labels, Mapping[float, float]], steps: Sequence[float], *,
                 for_seconds: float, keep_firing_for_seconds: float) -> list[Episode]:
    """Episodes of every label set in ``points`` (labels -> {evaluation time: value}) over ``steps``."""
    episodes: list[Episode] = []
    for labels, values in points.items():
        episodes.extend(_replay_one(labels, values, steps, for_seconds, keep_firing_for_seconds))
    episodes.sort(key=lambda e: (e.fired_at, e.labels))
    return episodes


def _replay_one(labels: Labels, values: Mapping[float, float], steps: Sequence[float],
                hold: float, keep_firing_for: float) -> list[Episode]:
    out: list[Episode] = []
    state = "inactive"
    active_at = fired_at = keep_since = 0.0
    peak = float("-inf")
    tolerance = 1e-6  # steps come back from the API as floats with millisecond precision
    for ts in steps:
        present = ts in values
        if present:
            if state == "inactive":
                state, active_at, peak = "pending", ts, float("-inf")
            keep_since = 0.0
            if state == "firing":
                peak = max(peak, values[ts])
            if state == "pending" and ts - active_at >= hold - tolerance:
                state, fired_at, peak = "firing", ts, values[ts]
            continue
        if state == "pending":
            state = "inactive"
        elif state == "firing":
            if keep_firing_for > 0:
                if not keep_since:
                    keep_since = ts
                if ts - keep_since < keep_firing_for - tolerance:
                    continue
            out.append(Episode(labels, active_at, fired_at, ts, peak))
            state = "inactive"
    if state == "firing":
        out.append(Episode(labels, active_at, fired_at, None, peak))
    return out
