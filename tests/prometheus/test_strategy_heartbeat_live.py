"""Alive but not trading, in a real run (issue 13): the strategy-stall drill against real Prometheus.

A sim trader runs ``--drill strategy-stall``: after a healthy baseline its strategies stop
evaluating while the sim feed keeps flowing and nothing is halted. A real Prometheus with the
committed rules scrapes it. The two thresholds are the rules' own recording rules with shorter
numbers, as a user tunes them (prometheus/README.md "Tune a threshold"), and TraderStrategyNoOrders'
``for:`` is cut from 5 m to 10 s; every expression is the committed one. Asserted: neither alert
fires during the baseline; during the stall TraderStrategyNotEvaluating fires for each strategy
of the account, with the symbols whose data still flows, and TraderStrategyNoOrders fires too.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.support.prometheus import stack_config

pytestmark = pytest.mark.slow

EVALUATION_LIMIT_SECONDS = 10  # committed: 120
NO_ORDER_LIMIT_SECONDS = 15  # committed: 10800
DRILL_DELAY_SECONDS = 25
TIMEOUT_SECONDS = 150


def _tuned_trading_rules(tmp_path) -> Path:
    from tests.support.trader import REPO_ROOT

    text = (REPO_ROOT / "prometheus" / "rules" / "trading.yml").read_text()
    for record, committed, tuned in (("trader:strategy_evaluation_staleness_limit:seconds", 120, EVALUATION_LIMIT_SECONDS),
                                     ("trader:strategy_no_order_limit:seconds", 10800, NO_ORDER_LIMIT_SECONDS)):
        pattern = rf"(- record: {re.escape(record)}\n\s+expr: vector\(){committed}\)"
        text, count = re.subn(pattern, rf"\g<1>{tuned})", text)
        assert count == 1, f"prometheus/rules/trading.yml: {record} is no longer vector({committed})"
    rules = yaml.safe_load(text)
    no_orders = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "TraderStrategyNoOrders")
    assert no_orders["for"] == "5m"
    no_orders["for"] = "10s"
    path = tmp_path / "trading.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


def _drill_started_at(trader) -> float | None:
    for line in trader.log_lines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("msg") == "drill started":
                return datetime.fromisoformat(record["ts"]).timestamp()
    return None


def test_strategy_stall_drill_fires_the_alive_but_not_trading_alerts(start_trader, start_prometheus, tmp_path) -> None:
    config = tmp_path / "stall.yml"
    config.write_text(yaml.safe_dump({"drill": {"duration_seconds": 120}}))
    trader = start_trader("--name", "stall", "--feed", "sim", "--seed", "3", "--config", str(config),
                          "--drill", "strategy-stall", "--drill-delay", str(DRILL_DELAY_SECONDS))
    config_yaml, files = stack_config({"stall": f"127.0.0.1:{trader.port}"})
    files["rules/trading.yml"] = _tuned_trading_rules(tmp_path)
    prometheus = start_prometheus(config_yaml, files)

    early: list[str] = []
    fired: dict[str, list[dict]] = {}
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        started = _drill_started_at(trader)
        for entry in prometheus.alerts():
            name = entry["labels"]["alertname"]
            if name not in ("TraderStrategyNotEvaluating", "TraderStrategyNoOrders") or entry["state"] != "firing":
                continue
            if started is None and name == "TraderStrategyNotEvaluating":
                early.append(f"{entry['labels']} before the drill")
            elif started is not None:
                fired.setdefault(name, []).append(entry)
        strategies = {e["labels"]["strategy"] for e in fired.get("TraderStrategyNotEvaluating", [])}
        if strategies == {"momentum", "mean_reversion"} and "TraderStrategyNoOrders" in fired:
            break
        time.sleep(2)

    assert not early, f"TraderStrategyNotEvaluating fired on a healthy trader: {early}"
    not_evaluating = fired.get("TraderStrategyNotEvaluating", [])
    assert {e["labels"]["strategy"] for e in not_evaluating} == {"momentum", "mean_reversion"}, fired
    for entry in not_evaluating:
        labels = entry["labels"]
        assert labels["trader"] == "stall" and labels["account"] == "main" and labels["severity"] == "critical"
        assert labels["symbol"] in entry["annotations"]["summary"]
    assert fired.get("TraderStrategyNoOrders"), f"TraderStrategyNoOrders did not fire during the stall: {fired}"
