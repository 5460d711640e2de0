"""Which alerts a replay would have fired: every rule of the chosen alerts, over the whole range.

The single-alert tuning (``evaluate.py``) answers "how often would this one alert fire at these
values"; this answers "does the stack cry wolf on this run": each alert's own expression at its
rule file's thresholds, through Prometheus' alert state machine (``for`` included), on a
``ReplayTSDB`` with every recorded series they read backfilled.

    rules = RuleSet.load(sorted(Path("prometheus/rules").glob("*.yml")))
    chosen = quiet_candidates(rules)                       # warning and critical, trader-fed
    with ReplayTSDB("sim:30m", rules, chosen, global_interval=15.0) as tsdb:
        episodes = fired(PrometheusAPI(tsdb.url), rules, chosen, tsdb.start, tsdb.end, 15.0)

Alerts about the monitoring stack itself (category ``meta``: the scrape, Prometheus,
Alertmanager, the relays) have nothing to read in a backfill: there is no ``up`` series and no
job label, so ``absent(trader_build_info{job="trader"})`` would always be true. Host figures
(category ``system``) in a run at maximum speed describe the machine doing the replay, not the
trading. ``quiet_candidates`` leaves both out by default.
"""

from __future__ import annotations

from typing import Sequence

from .alert_state import Episode
from .evaluate import rule_episodes
from .prom_api import PrometheusAPI
from .rules import AlertRule, RuleSet

__all__ = ["quiet_candidates", "fired", "NOT_FROM_A_REPLAY"]

NOT_FROM_A_REPLAY = ("meta", "system")


def quiet_candidates(rules: RuleSet, severities: Sequence[str] = ("warning", "critical"),
                     skip_categories: Sequence[str] = NOT_FROM_A_REPLAY) -> list[AlertRule]:
    """The alerting rules of those severities whose figures a replay of the trader produces."""
    return [a for a in rules.alerts
            if dict(a.labels).get("severity") in severities and dict(a.labels).get("category") not in skip_categories]


def fired(api: PrometheusAPI, rules: RuleSet, alert: Sequence[AlertRule], start: float, end: float,
          global_interval: float) -> list[Episode]:
    """Every episode of the given rules that fired within [start, end], at the rule files' thresholds."""
    out: list[Episode] = []
    for rule in alert:
        episodes = rule_episodes(api, rules, rule, {}, start, end, rule.interval or global_interval, rule.for_seconds)
        out.extend(e for e in episodes if e.fired_at <= end and (e.resolved_at is None or e.resolved_at > start))
    out.sort(key=lambda e: (e.fired_at, e.labels))
    return out
