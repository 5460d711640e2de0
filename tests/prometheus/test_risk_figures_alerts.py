"""The trader's own risk figures, through the real exporters and a real Prometheus, to the alerts.

Each scenario drives one real paper account (broker, portfolio, limits gate: the Desk of
tests/trader_core/) on a clock of its own, with quotes a test chooses, and takes what a scrape
would show every 5 s with the exporters' OpenMetrics backfill writer (the same registry and
render as ``/metrics``). promtool makes TSDB blocks of it, a temporary Prometheus serves them
with the rule files, and the alert is evaluated over the run with its own ``for``
(``tuning.fired``).

- Correlation is of the positions' own returns: a long/short hedge in two markets that move
  together reads negative and TraderCorrelationHigh stays quiet; two longs in them fire it.
- The VaR the gate refuses orders on is the VaR TraderVaRAboveLimit compares: in a book whose
  gains are fat-tailed and losses thin, the parametric VaR is over the limit and the historical
  under it. The gate refuses a new order for ``var`` exactly when the alert's expression is over
  its limit, on the same data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exporters.backfill import OpenMetricsBackfill
from exporters.registry import build_registry_from
from tests.trader_core.paper_fixtures import Desk
from tests.tuning.tuning_support import REPO_ROOT
from trader.config import LimitsConfig, RiskConfig
from trader.events import RiskRefused
from trader.snapshot import TraderSnapshot
from tuning.cli import _global_interval
from tuning.expression import with_thresholds
from tuning.fired import fired
from tuning.prom_api import PrometheusAPI
from tuning.replay import ReplayTSDB
from tuning.rules import RuleSet

pytestmark = pytest.mark.slow

SCRAPE_SECONDS = 5.0  # the trader job's scrape interval (prometheus/prometheus.yml)
RULES = RuleSet.load(sorted((REPO_ROOT / "prometheus" / "rules").glob("*.yml")))
INTERVAL = _global_interval(str(REPO_ROOT / "prometheus" / "prometheus.yml"))


class Recorded:
    """A Desk whose metrics are written as a scrape would see them, every 5 s of its clock."""

    def __init__(self, path: Path, limits: LimitsConfig, risk: RiskConfig | None = None) -> None:
        self.desk = Desk(limits=limits, risk=risk or RiskConfig())
        desk = self.desk
        source = lambda: TraderSnapshot(desk.clock(), (desk.account.snapshot(desk.clock()),), (), (), {})  # noqa: E731
        self.writer = OpenMetricsBackfill(build_registry_from(source, desk.bus, process_metrics=False), path,
                                          SCRAPE_SECONDS, desk.clock)
        self.path = path

    def move(self, quotes: dict[str, float]) -> None:
        """One 10-s move of the market: two scrapes, one risk sample."""
        for _ in range(2):
            self.step(SCRAPE_SECONDS, quotes)

    def step(self, seconds: float, quotes: dict[str, float]) -> None:
        """Move the clock, quote each symbol at its mid (1 bp wide), sample the risk figures on
        their interval and take a scrape."""
        desk = self.desk
        desk.clock.now += seconds
        for symbol, mid in quotes.items():
            desk.quote(mid * (1 - 0.5e-4), mid * (1 + 0.5e-4), bid_qty=1e6, ask_qty=1e6, symbol=symbol)
        now = desk.clock()
        if now % desk.account.risk_config.sample_interval_seconds < seconds:
            desk.account.sample(now)
        if now % SCRAPE_SECONDS < seconds:
            self.writer.sample(now)

    def open(self, symbol: str, side: str, notional: float, mid: float) -> None:
        order = self.desk.broker.submit("s", "binance", symbol, side, "market", notional / mid, leverage=5.0)
        assert order is not None and order.status == "filled", f"could not open {side} {symbol}"


def _episodes(recorded: Recorded, alert: str) -> list:
    recorded.writer.write()
    rules = RULES.alert(alert)
    with ReplayTSDB(f"test:{alert}", RULES, rules, global_interval=INTERVAL, openmetrics=recorded.path) as tsdb:
        return fired(PrometheusAPI(tsdb.url), RULES, rules, tsdb.start, tsdb.end, INTERVAL)


# --- correlation -----------------------------------------------------------------------------

def _correlated_markets(steps: int) -> np.ndarray:
    """BTC and ETH mids moving together: one common factor, small own noise (correlation ~0.96)."""
    rng = np.random.default_rng(13)
    common = rng.normal(0.0, 0.001, steps)
    own = rng.normal(0.0, 0.0002, (steps, 2))
    return np.array([60_000.0, 3_000.0]) * np.exp(np.cumsum(common[:, None] + own, axis=0))


@pytest.mark.parametrize("eth_side, fires", [("sell", False), ("buy", True)], ids=["long-short-hedge", "two-longs"])
def test_correlation_of_the_positions_own_returns_drives_the_alert(tmp_path, eth_side, fires):
    recorded = Recorded(tmp_path / "metrics.om", LimitsConfig(max_position_usdt=1e9, max_leverage=100, var_usdt=1e9))
    recorded.step(1.0, {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0})
    recorded.open("BTCUSDT", "buy", 2_000.0, 60_000.0)
    recorded.open("ETHUSDT", eth_side, 2_000.0, 3_000.0)
    figures = []
    for btc, eth in _correlated_markets(90):  # 15 minutes of 10-s moves
        recorded.move({"BTCUSDT": btc, "ETHUSDT": eth})
        figures.append(recorded.desk.account.snapshot(recorded.desk.clock()).correlation_max)
    settled = [f for f in figures[30:] if f is not None]
    assert len(settled) == 60
    if fires:
        assert min(settled) > 0.9, "two longs in markets that move together must read strongly positive"
    else:
        assert max(settled) < -0.9, "a long/short hedge in markets that move together must read negative"
    episodes = _episodes(recorded, "TraderCorrelationHigh")
    assert [e.label("account") for e in episodes] == (["main"] if fires else [])


# --- VaR: the gate and the alert read one figure ----------------------------------------------

VAR_LIMIT = 2_000.0


def _fat_gains(steps: int) -> np.ndarray:
    """A mid whose 10-s moves are ±2 bps, with a +1.5 % jump every 20th: the gains' tail is fat
    (parametric VaR, from the standard deviation, is large) and the losses' thin (historical VaR,
    from the worst returns, is small)."""
    moves = np.where(np.arange(steps) % 2 == 0, 0.0002, -0.0002)
    moves[10::20] = 0.015
    return 60_000.0 * np.exp(np.cumsum(moves))


def test_an_order_the_gate_refuses_for_var_is_the_alert_over_its_limit(tmp_path):
    limits = LimitsConfig(max_position_usdt=1e9, max_leverage=100, var_usdt=VAR_LIMIT)
    recorded = Recorded(tmp_path / "metrics.om", limits)
    desk = recorded.desk
    recorded.step(1.0, {"BTCUSDT": 60_000.0})
    recorded.open("BTCUSDT", "buy", 8_000.0, 60_000.0)
    for btc in _fat_gains(60):  # 10 minutes of 10-s moves
        recorded.move({"BTCUSDT": btc})
    var = desk.account.snapshot(desk.clock()).var_usdt
    # The case that told the two apart: only the parametric figure is over the limit.
    assert var["historical"] < VAR_LIMIT < var["parametric"], var
    assert desk.broker.submit("s", "binance", "BTCUSDT", "buy", "market", 0.001, leverage=5.0) is None
    (refusal,) = desk.of(RiskRefused)
    assert refusal.reason == "var" and f"{var['parametric']:,.0f}" in refusal.detail
    for _ in range(13):  # a minute more of scrapes after the refusal, on the same book
        recorded.step(5.0, {"BTCUSDT": desk.market.mid("binance", "BTCUSDT")})
    recorded.writer.write()
    (rule,) = RULES.alert("TraderVaRAboveLimit")
    with ReplayTSDB("test:var", RULES, [rule], global_interval=INTERVAL, openmetrics=recorded.path) as tsdb:
        api = PrometheusAPI(tsdb.url)
        [(labels, value)] = api.query(with_thresholds(rule.expr, {}, RULES), refusal.ts)
        episodes = fired(api, RULES, [rule], tsdb.start, tsdb.end, INTERVAL)
    assert labels["account"] == "main" and value == pytest.approx(var["parametric"], rel=1e-6)
    assert [e.label("account") for e in episodes] == ["main"]


def test_under_the_limit_the_gate_lets_orders_through_and_the_alert_is_quiet(tmp_path):
    limits = LimitsConfig(max_position_usdt=1e9, max_leverage=100, var_usdt=VAR_LIMIT)
    recorded = Recorded(tmp_path / "metrics.om", limits)
    desk = recorded.desk
    recorded.step(1.0, {"BTCUSDT": 60_000.0})
    recorded.open("BTCUSDT", "buy", 800.0, 60_000.0)  # a tenth of the book: a tenth of the VaR
    for btc in _fat_gains(60):
        recorded.move({"BTCUSDT": btc})
    var = desk.account.snapshot(desk.clock()).var_usdt
    assert max(var.values()) < VAR_LIMIT, var
    assert desk.broker.submit("s", "binance", "BTCUSDT", "buy", "market", 0.001, leverage=5.0) is not None
    assert desk.of(RiskRefused) == []
    for _ in range(13):
        recorded.step(5.0, {"BTCUSDT": desk.market.mid("binance", "BTCUSDT")})
    assert _episodes(recorded, "TraderVaRAboveLimit") == []
