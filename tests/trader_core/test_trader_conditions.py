"""The trader records when an alert's condition first holds (trader/conditions.py): the start the
alert latency benchmark measures from. Through the real crash drill, and as the exporter's gauge."""

import re

import yaml

from exporters.registry import build_registry_from
from tests.support.trader import REPO_ROOT
from tests.trader_core.sim_trader import FAST_SIM, run_trader
from tests.trader_core.test_trader_drills import Watch
from trader.bus import EventBus
from trader.config import AlertConditionsConfig, load_config_text
from trader.events import ConditionFirstHeld, DrillStarted
from trader.snapshot import TraderSnapshot


def _recorded_limit(name: str) -> float:
    groups = yaml.safe_load((REPO_ROOT / "prometheus" / "rules" / "risk.yml").read_text())["groups"]
    expr = next(r["expr"] for g in groups for r in g["rules"] if r.get("record") == name)
    return float(re.fullmatch(r"vector\(([\d.]+)\)", expr.strip()).group(1))


def test_the_watched_thresholds_are_the_alert_rules_thresholds():
    # The trader's defaults and the example config both equal the recording rules the alerts use.
    example = load_config_text((REPO_ROOT / "trader" / "config.example.yml").read_text()).alert_conditions
    for config in (AlertConditionsConfig(), example):
        assert config.drawdown_ratio == _recorded_limit("trader:drawdown_limit:ratio")
        assert config.liquidation_distance_ratio == _recorded_limit("trader:liquidation_distance_limit:ratio")


def test_the_crash_drill_records_each_condition_once():
    watch = Watch(ConditionFirstHeld)
    trader = run_trader(FAST_SIM, 6.0, drill="crash", probe=watch)
    held = watch.of(ConditionFirstHeld)
    started = watch.of(DrillStarted)[0].ts
    by_condition = {e.condition: e for e in held}
    assert sorted(e.condition for e in held) == ["drawdown", "halted", "liquidation_distance"], held
    assert all(e.ts >= started for e in held), "nothing holds before the crash"
    # The halt may come first: the 5 % daily loss limit halts before a 10 % drawdown on a slow fall.
    assert by_condition["drawdown"].value >= 0.10 and by_condition["drawdown"].threshold == 0.10
    assert by_condition["liquidation_distance"].value < 0.05
    (account,) = trader.snapshot().accounts
    assert account.drawdown_ratio >= 0.10 and account.trading_halted


def test_the_exporter_shows_when_each_condition_last_started_to_hold():
    bus = EventBus()
    registry = build_registry_from(lambda: TraderSnapshot(0.0, (), (), (), {}), bus, process_metrics=False)
    before = registry.render(registry.capture())
    assert "trader_condition_first_held_timestamp_seconds{" not in before, "absent until a condition holds"
    bus.publish(ConditionFirstHeld("main", "drawdown", 1_700_000_000.5, 0.11, 0.10))
    bus.publish(ConditionFirstHeld("main", "drawdown", 1_700_000_100.0, 0.12, 0.10))  # a second episode
    text = registry.render(registry.capture())
    lines = [l for l in text.splitlines() if l.startswith("trader_condition_first_held_timestamp_seconds{")]
    assert len(lines) == 1 and lines[0].startswith(
        'trader_condition_first_held_timestamp_seconds{account="main",condition="drawdown"} '), lines
    assert float(lines[0].rsplit(" ", 1)[1]) == 1_700_000_100.0, "the latest episode's start"
