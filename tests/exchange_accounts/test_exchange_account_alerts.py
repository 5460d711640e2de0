"""The risk and trading alerts fire for a real account, unchanged: promtool runs the committed
rules on every series the exporter emits for an exchange account watched on the Binance stand-in.

The account goes through four phases, each held for three minutes of promtool's clock: healthy;
the mark falls (a 14 % drawdown, a 14 % daily loss); it falls near the liquidation price (3.8 %
away); the position is liquidated between two polls. After each phase the real exporter renders
the real watcher's figures, and those renders, series for series, are promtool's input.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import yaml

from exporters.registry import build_registry_from
from tests.exchange_accounts.harness import make_watcher, standin
from tests.exporters.scrape_parsing import samples
from tests.prometheus.prom_rule_files import RULES_DIR
from tests.support.processes import require_binary
from trader.bus import EventBus
from trader.snapshot import TraderSnapshot

MINUTES_PER_PHASE = 3
ACCOUNT = "binance-main"
POSITION = {"account": ACCOUNT, "exchange": "binance", "symbol": "BTCUSDT"}


def _render(watcher, stats) -> dict:
    now = time.time()
    snapshot = TraderSnapshot(ts=now, accounts=(watcher.state.snapshot(now),), feeds=(), markets=(),
                              api_requests=stats.snapshot(), api_errors=stats.errors_snapshot(),
                              account_watch=(watcher.watch_snapshot(now),))
    registry = build_registry_from(lambda: snapshot, EventBus(), process_metrics=False)
    return samples(registry.render(registry.capture(), openmetrics=False))


def _phases() -> list[dict]:
    with standin("binance") as server:
        server.open_position("BTCUSDT", 0.5, 60_000.0, 61_000.0, liquidation=50_000.0)
        watcher, stats = make_watcher("binance", server)

        async def story():
            renders = []
            try:
                for step in ("healthy", "falls", "near liquidation", "liquidated"):
                    if step == "falls":
                        server.set_mark("BTCUSDT", 58_000.0)
                    elif step == "near liquidation":
                        server.set_mark("BTCUSDT", 52_000.0)
                    elif step == "liquidated":
                        server.liquidate("BTCUSDT", 50_500.0, clearance_fee=5.0)
                    watcher._next_history = 0.0
                    assert await watcher.cycle() is not None and watcher.last_error is None
                    renders.append(_render(watcher, stats))
            finally:
                await watcher.api.close()
            return renders

        return asyncio.run(story())


def _series_text(name: str, labels: tuple) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


def _input_series(renders: list[dict]) -> list[dict]:
    keys = sorted({key for render in renders for key in render if key[0].startswith("trader_")})
    series = []
    for name, labels in keys:
        values = []
        for render in renders:
            value = render.get((name, labels))
            values += ["_" if value is None else repr(float(value))] * MINUTES_PER_PHASE
        series.append({"series": _series_text(name, labels), "values": " ".join(values)})
    return series


EXPECTED = [
    # Phase 2 (minutes 3-5): 14 % below the peak of 10,500, and 14 % down on the day.
    (5, "TraderDrawdownHigh", {"severity": "critical", "category": "risk", "account": ACCOUNT}, {
        "summary": f"{ACCOUNT}: drawdown 14.29% above the 10% limit",
        "description": f"Account {ACCOUNT} is at drawdown 14.29% of peak equity 10.5k USDT (limit 10%).",
        "runbook_url": "docs/runbooks/TraderDrawdownHigh.md", "dashboard_url": "/d/trader-risk?viewPanel=1"}),
    (5, "TraderDailyLossLimit", {"severity": "critical", "category": "risk", "account": ACCOUNT}, {
        "summary": f"{ACCOUNT}: daily PnL -14.29%, past the -5% daily loss limit",
        "description": f"Account {ACCOUNT} made -1.5k USDT today, -14.29% of the day-start equity 10.5k USDT "
                       "(limit -5%).",
        "runbook_url": "docs/runbooks/TraderDailyLossLimit.md", "dashboard_url": "/d/trader-risk?viewPanel=2"}),
    # Phase 3 (minutes 6-8): the mark 3.8 % from the liquidation price.
    (7, "TraderLiquidationClose", {"severity": "critical", "category": "risk", **POSITION}, {
        "summary": f"{ACCOUNT} BTCUSDT: mark 3.846% from liquidation (limit 5%)",
        "description": f"The BTCUSDT position of {ACCOUNT} on binance (notional 26k USDT) is 3.846% from its "
                       "liquidation price, under the 5% limit.",
        "runbook_url": "docs/runbooks/TraderLiquidationClose.md", "dashboard_url": "/d/trader-risk?viewPanel=4"}),
    # Phase 4 (minutes 9-11): liquidated between two polls; the counter went 0 -> 1.
    (10, "TraderPositionLiquidated", {"severity": "critical", "category": "trading", **POSITION}, {
        "summary": f"{ACCOUNT} BTCUSDT: position liquidated by binance",
        "description": f"1 position(s) of {ACCOUNT} in BTCUSDT on binance were force-closed in the last 5 minutes; "
                       "the margin is lost. Equity now 5.245k USDT.",
        "runbook_url": "docs/runbooks/TraderPositionLiquidated.md", "dashboard_url": "/d/trader-risk?viewPanel=7"}),
]


def test_the_risk_and_trading_alerts_fire_for_a_real_account(tmp_path: Path):
    renders = _phases()
    assert renders[2][("trader_liquidation_distance_ratio", tuple(sorted(POSITION.items())))] < 0.05
    tests = [{
        "name": "an exchange account, as the exporter renders it",
        "interval": "1m",
        "input_series": _input_series(renders),
        "alert_rule_test": [
            {"eval_time": "2m", "alertname": alert, "exp_alerts": []} for _, alert, _, _ in EXPECTED  # healthy: quiet
        ] + [
            {"eval_time": f"{minute}m", "alertname": alert,
             "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]}
            for minute, alert, labels, annotations in EXPECTED
        ],
    }]
    test_file = tmp_path / "exchange_account_test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": [str(RULES_DIR / "risk.yml"), str(RULES_DIR / "trading.yml")],
        "evaluation_interval": "1m",
        "group_eval_order": ["risk-thresholds", "risk-recording", "risk-alerts",
                             "trading-thresholds", "trading-recording", "trading-alerts"],
        "tests": tests,
    }, sort_keys=False))
    result = subprocess.run([require_binary("promtool"), "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
