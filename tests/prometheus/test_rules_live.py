"""The rules against the real trader and a real Prometheus.

One run (about 4-5 minutes): five sim traders, one per drill, and two replays of the calm
2024 Binance recordings, all scraped by one Prometheus loaded with prometheus/rules/. It checks
that
- every metric a rule (or an alert's annotation) reads is in the trader's output;
- each drill makes the alerts docs/architecture.md lists for it fire, on that trader's series;
- the calm replays fire no trading or risk alert.

Each trader has its own account name, and the drills that aggregate by exchange (api-errors,
latency) their own exchange, so one trader's alerts are told apart from another's.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from tests.prometheus.prom_rule_files import load_rules, metric_names
from tests.support.prometheus import stack_config
from tests.support.shared import recording
from tests.support.trader import REPO_ROOT

pytestmark = pytest.mark.slow

REPLAYS = {"replay_btc": recording("binance-usdm-btcusdt-20240808.jsonl.gz"),
           "replay_eth": recording("binance-usdm-ethusdt-20240808.jsonl.gz")}
# drill -> (account, exchange). Exchange-level rules (API errors, latencies) sum over traders on
# one exchange, so the drills read by exchange get an exchange of their own.
DRILLS = {"crash": ("crash", "binance"), "feed-outage": ("feed_outage", "binance"),
          "api-errors": ("api_errors", "bybit"), "latency": ("latency", "okx"),
          "strategy-stall": ("strategy_stall", "binance")}
DRILL_DELAY_SECONDS = 30  # a healthy baseline of six scrapes before the failure
TIMEOUT_SECONDS = 330
# Series of other jobs (Prometheus, Alertmanager, the SMS relay) or made by Prometheus itself.
OTHER_JOBS = re.compile(r"^(up|ALERTS|ALERTS_FOR_STATE|prometheus_.*|alertmanager_.*|sms_relay_.*|loki_.*|alloy_.*|grafana_.*)$")


def _expected_alerts_per_drill() -> dict[str, set[str]]:
    """From docs/architecture.md's drill table: the alerts each drill fires."""
    text = (REPO_ROOT / "docs" / "architecture.md").read_text().split("## Drills", 1)[1].split("\n## ", 1)[0]
    expected: dict[str, set[str]] = {drill: set() for drill in DRILLS}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in DRILLS:
            expected[cells[0]] |= set(re.findall(r"`([A-Za-z]+)`", cells[1]))
    return expected


def _conditionally_absent() -> set[str]:
    """Metrics the contract says are absent until they mean something (no VaR before enough
    returns, no liquidation distance without a position)."""
    text = (REPO_ROOT / "docs" / "architecture.md").read_text()
    return set(re.findall(r"^\| `(trader_[a-z0-9_]+)` \|[^\n]*\babsent\b", text, re.MULTILINE))


def _names_the_rules_read() -> set[str]:
    names = set()
    for rule in load_rules():
        names |= metric_names(rule.body["expr"])
        for text in (rule.body.get("annotations") or {}).values():
            # Series read by `query` in templates; not the recorded ones (they hold a ':').
            names |= set(re.findall(r"(?<![\w:])trader_[a-z0-9_]+(?![\w:])", text))
    return {n for n in names if ":" not in n and not OTHER_JOBS.match(n)}


def _scraped_names(exposition: str) -> set[str]:
    return {line.split("{", 1)[0].split(" ", 1)[0] for line in exposition.splitlines()
            if line and not line.startswith("#")}


def _account_config(tmp_path: Path, account: str) -> str:
    path = tmp_path / f"{account}.yml"
    path.write_text(yaml.safe_dump({"accounts": [{"name": account}]}))
    return str(path)


def _concerns(alert: dict, target: str, account: str, exchange: str | None) -> bool:
    labels = alert["labels"]
    return (labels.get("instance") == target or labels.get("account") == account
            or (exchange is not None and labels.get("exchange") == exchange and "instance" not in labels))


def test_drills_fire_their_alerts_and_calm_replays_fire_none(start_trader, start_prometheus, tmp_path) -> None:
    expected = _expected_alerts_per_drill()
    assert all(expected.values()), f"no expected alerts parsed from docs/architecture.md: {expected}"
    unique_exchange = {"api-errors": "bybit", "latency": "okx"}

    traders = {}
    for drill, (account, exchange) in DRILLS.items():
        traders[drill] = start_trader("--feed", "sim", "--exchanges", exchange, "--config", _account_config(tmp_path, account),
                                      "--drill", drill, "--drill-delay", str(DRILL_DELAY_SECONDS), "--seed", "7")
    for account, path in REPLAYS.items():
        traders[account] = start_trader("--config", _account_config(tmp_path, account), "--replay", str(path), "--speed", "2")
    target = {name: f"127.0.0.1:{trader.port}" for name, trader in traders.items()}
    prometheus = start_prometheus(*stack_config(list(target.values())))

    scraped: set[str] = set()
    fired: dict[str, set[str]] = {name: set() for name in traders}
    calm_violations: list[str] = []
    started = time.monotonic()
    deadline = started + TIMEOUT_SECONDS
    last_scrape = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - last_scrape > 15:
            for trader in traders.values():
                try:
                    scraped |= _scraped_names(trader.scrape())
                except Exception:  # a replay that finished has exited
                    pass
            last_scrape = time.monotonic()
        for alert in prometheus.alerts():
            name = alert["labels"]["alertname"]
            for drill, (account, _) in DRILLS.items():
                if alert["state"] == "firing" and _concerns(alert, target[drill], account, unique_exchange.get(drill)):
                    if name not in fired[drill]:
                        print(f"{time.monotonic() - started:6.0f}s {drill}: {name} firing")
                    fired[drill].add(name)
            for replay in REPLAYS:
                if _concerns(alert, target[replay], replay, None) and alert["labels"].get("category") in {"trading", "risk"} \
                        and alert["state"] == "firing":
                    calm_violations.append(f"{replay}: {name} {alert['labels']} value {alert.get('value')}")
        if all(expected[drill] <= fired[drill] for drill in DRILLS) and time.monotonic() - started > 200:
            break  # every drill alert seen, and the replays (~180 s at 2x) have run through
        time.sleep(5)

    missing_metrics = _names_the_rules_read() - scraped
    catalogue = (REPO_ROOT / "docs" / "metrics.md").read_text()
    conditional = _conditionally_absent()
    undeclared = sorted(name for name in missing_metrics & conditional if f"`{name}`" not in catalogue)
    problems = []
    if missing_metrics - conditional or undeclared:
        problems.append(f"metrics the rules read that no trader exported: {sorted(missing_metrics - conditional)}; "
                        f"conditional ones (absent until they exist) not in docs/metrics.md: {undeclared}")
    missing_alerts = {drill: sorted(expected[drill] - fired[drill]) for drill in DRILLS if expected[drill] - fired[drill]}
    if missing_alerts:
        problems.append(f"drill alerts that did not fire within {TIMEOUT_SECONDS}s: {missing_alerts}; fired: {fired}")
    if "TraderOrderFailuresHigh" in fired["crash"]:
        # A crash makes exits fail benignly (reduce-only on a closed position): not a placement failure.
        problems.append("the crash drill paged TraderOrderFailuresHigh: benign rejections counted as failures")
    if calm_violations:
        problems.append("calm replays fired trading/risk alerts:\n" + "\n".join(sorted(set(calm_violations))))
    assert not problems, "\n".join(problems)
