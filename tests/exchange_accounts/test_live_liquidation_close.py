"""Live: Prometheus with the committed rules scrapes a real trader (``python -m trader --watch-only``)
that watches a stand-in Binance account whose mark price drifts towards the liquidation price;
TraderLiquidationClose fires for that account, and nothing ever sends an order. The dashboard
panels only an exchange account fills (rate-limit usage, data age, errors by reason) show data."""

from __future__ import annotations

import threading

import pytest

from tests.exchange_accounts.harness import standin, watch_only_args
from tests.grafana.grafana_dashboards_support import dashboards, fill_variables, targets
from tests.support.prometheus import stack_config

pytestmark = pytest.mark.slow

EXCHANGE_ACCOUNT_PANELS = {("trader-execution", 16), ("trader-execution", 17), ("trader-execution", 18)}
LIQUIDATION = 50_000.0
START_MARK = 54_000.0  # 7.4 % above the liquidation price: under the 5 % limit below 52,632
STEP, EVERY = 100.0, 0.5  # the market: -100 USDT every half second, down to just above liquidation


def _drift(server, stop: threading.Event) -> None:
    mark = START_MARK
    while not stop.wait(EVERY) and mark - STEP > LIQUIDATION * 1.005:
        mark -= STEP
        server.set_mark("BTCUSDT", mark)


def test_liquidation_close_fires_for_a_watched_exchange_account(start_trader, start_prometheus, tmp_path,
                                                                monkeypatch):
    with standin("binance") as server:
        server.open_position("BTCUSDT", 0.5, 60_000.0, START_MARK, liquidation=LIQUIDATION, leverage=20.0)
        trader = start_trader(*watch_only_args(tmp_path, server, monkeypatch))
        prometheus = start_prometheus(*stack_config([f"127.0.0.1:{trader.port}"]))
        stop = threading.Event()
        market = threading.Thread(target=_drift, args=(server, stop), daemon=True)
        market.start()
        try:
            def liquidation_close():
                return [a for a in prometheus.alerts()
                        if a["labels"]["alertname"] == "TraderLiquidationClose" and a["state"] == "firing"]

            [alert] = prometheus.wait_until(liquidation_close, 90, "TraderLiquidationClose firing")
            scraped = trader.scrape()
            panels = [(d, p, t) for d in dashboards().values() for p, t in targets(d, "prometheus")
                      if (d["uid"], p["id"]) in EXCHANGE_ACCOUNT_PANELS]
            assert {(d["uid"], p["id"]) for d, p, _ in panels} == EXCHANGE_ACCOUNT_PANELS
            everything = {"trader": ".*", "account": ".*", "exchange": ".*", "symbol": ".*", "strategy": ".*", "instance": ".*"}
            prometheus.wait_until(lambda: all(prometheus.query(fill_variables(t["expr"], everything))
                                              for _, _, t in panels), 30, "the exchange-account panels to show data")
        finally:
            stop.set()
            market.join(5)
    labels = alert["labels"]
    assert (labels["account"], labels["exchange"], labels["symbol"], labels["severity"]) == (
        "binance", "binance", "BTCUSDT", "critical")
    assert float(alert["value"]) < 0.05
    assert "from liquidation" in alert["annotations"]["summary"]
    # A pure watcher: the account is read, nothing is traded (the stand-in's exit checked no order came).
    assert 'trader_account_last_success_timestamp_seconds{account="binance",exchange="binance"}' in scraped
    orders = [float(line.rsplit(" ", 1)[1]) for line in scraped.splitlines() if line.startswith("trader_orders_total{")]
    assert set(orders) <= {0.0}
    assert server.requests and {r.method for r in server.requests} == {"GET"}
