"""The exporters on the real trader: an in-process ``Trader`` on the sim feed and on a real
recording, scraped through the real server and compared with the trader's own snapshot; and the
``python -m trader`` process serving /metrics, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import subprocess
import time

import requests

from exporters.catalogue import all_specs
from exporters.http import start_metrics_server
from tests.exporters.scrape_parsing import samples, series_of, value
from tests.support.processes import require_binary
from tests.support.shared import DATA_DIR
from tests.trader_journal.journal_fixtures import seed_history
from trader.config import load_config_text
from trader.engine import Trader
from trader.journal import open_journal

RECORDING = str(DATA_DIR / "binance-usdm-btcusdt-20240808.jsonl.gz")

# Fast strategies and risk sampling so every figure exists within a couple of seconds: positions
# on several markets (correlation), closed losing trades (profit factor), >= 5 returns (VaR); a
# journal holding a week of daily returns gives Sharpe and Sortino.
FAST = """
risk: {sample_interval_seconds: 0.2, min_samples: 5, correlation_min_returns: 3}
accounts:
  - name: main
    initial_balance_usdt: 10000
    strategies:
      - {type: momentum, name: momentum, order_usdt: 1000, leverage: 5, bar_seconds: 0.2, lookback_bars: 5,
         entry_threshold: 1, max_hold_seconds: 3, stop_loss_ratio: 0.001, take_profit_ratio: 0.001}
      - {type: mean_reversion, name: mean_reversion, order_usdt: 1000, leverage: 5, bar_seconds: 0.2,
         lookback_bars: 5, entry_threshold: 0.5, max_hold_seconds: 3, stop_loss_ratio: 0.001,
         take_profit_ratio: 0.001}
"""
SIM = "feed: {kind: sim, exchanges: [binance, okx], symbols: [BTCUSDT, ETHUSDT, SOLUSDT], seed: 3, " \
      "sim_updates_per_second: 10}\n" + FAST
REPLAY = f"feed: {{kind: replay, replay_path: {RECORDING}, speed: 10, symbols: [BTCUSDT]}}\n" + FAST


def _names(parsed: dict) -> set[str]:
    return {name for name, _ in parsed}


# Figures only a watched exchange account has (absent here by design): the paper sim run has none;
# tests/exchange_accounts/ scrapes them from a trader watching stand-in exchanges. Nor does a calm
# sim run reach an alert's condition (tests/trader_core/test_trader_conditions.py runs the crash drill).
_EXCHANGE_ACCOUNT_ONLY = {s.name for s in all_specs() if "exchange account" in s.absent or "paper accounts" in s.absent
                          or "until the condition first holds" in s.absent}


def _missing(parsed: dict) -> list[str]:
    names = _names(parsed)
    return [s.name for s in all_specs()
            if not {s.name, s.name + "_count"} & names and s.name not in _EXCHANGE_ACCOUNT_ONLY]


async def _scrape_against_snapshot(config_text: str, want_every_metric: bool, timeout: float = 15.0, journal=None):
    """Run the trader until every documented metric is present in one scrape (or, for a replay,
    until it has placed orders), then return (parsed text scrape, the snapshot it was built from,
    a snapshot just before, one just after, an OpenMetrics scrape, the /readyz response)."""
    trader = Trader(load_config_text(config_text), journal=journal)
    taken = []
    own_snapshot = trader.snapshot

    def recording_snapshot():
        taken.append(own_snapshot())  # the server takes its snapshot on the loop: this is it
        return taken[-1]

    trader.snapshot = recording_snapshot
    run = asyncio.create_task(trader.run())
    server = start_metrics_server(trader, 0, "127.0.0.1")

    def get(accept: str = "") -> str:
        return requests.get(f"{server.url}/metrics", headers={"Accept": accept}, timeout=10).text

    try:
        deadline = time.monotonic() + timeout
        while True:
            await asyncio.sleep(0.5)
            # Polled in OpenMetrics, so "every metric present" is proven in the stricter format.
            parsed = samples(await asyncio.to_thread(get, "application/openmetrics-text"), openmetrics=True)
            missing = _missing(parsed)
            orders = sum(series_of(parsed, "trader_orders_total").values())
            if (not missing if want_every_metric else orders > 0):
                break
            assert time.monotonic() < deadline, f"after {timeout:g} s still missing: {missing}"
        before = own_snapshot()
        text = await asyncio.to_thread(get)
        after = own_snapshot()
        used = taken[-1]
        openmetrics = await asyncio.to_thread(get, "application/openmetrics-text")
        ready = await asyncio.to_thread(lambda: requests.get(f"{server.url}/readyz", timeout=10))
    finally:
        trader.stop()
        await run
        server.close()
    return samples(text), used, before, after, openmetrics, ready


def _assert_scrape_equals_snapshot(parsed, used, before, after):
    account = used.accounts[0]
    main = {"account": account.name}
    assert value(parsed, "trader_equity_usdt", **main) == account.equity_usdt
    assert value(parsed, "trader_drawdown_ratio", **main) == account.drawdown_ratio
    assert value(parsed, "trader_max_drawdown_ratio", **main) == account.max_drawdown_ratio
    assert value(parsed, "trader_pnl_realized_usdt", **main) == account.realized_pnl_usdt
    assert value(parsed, "trader_open_positions", **main) == len({(p.exchange, p.symbol) for p in account.positions})
    for p in account.positions:
        where = dict(main, exchange=p.exchange, symbol=p.symbol)
        same_market = [q.quantity for q in account.positions if (q.exchange, q.symbol) == (p.exchange, p.symbol)]
        assert value(parsed, "trader_position_quantity", **where) == sum(same_market)
    for (exchange, symbol, side, status), count in account.orders.items():
        assert value(parsed, "trader_orders_total", **main, exchange=exchange, symbol=symbol, side=side,
                     status=status) == count
    for (exchange, reason), count in account.rejections.items():
        assert value(parsed, "trader_order_rejections_total", **main, exchange=exchange, reason=reason) == count
    for (exchange, endpoint, status), count in used.api_requests.items():
        assert value(parsed, "trader_api_requests_total", exchange=exchange, endpoint=endpoint, status=status) == count
    for feed, earlier, later in zip(used.feeds, before.feeds, after.feeds):
        messages = value(parsed, "trader_feed_messages_total", exchange=feed.exchange)
        assert messages == feed.messages and earlier.messages <= messages <= later.messages
        for reason, count in feed.rejected.items():
            assert value(parsed, "trader_feed_messages_rejected_total", exchange=feed.exchange, reason=reason) == count
        assert value(parsed, "trader_feed_up", exchange=feed.exchange) == (1 if feed.connected else 0)
    # The scrape is of this moment, not a cached one.
    assert before.ts <= used.ts <= after.ts


def test_sim_run_every_documented_metric_and_values_equal_the_trader(tmp_path):
    week = [0.01, -0.005, 0.02, 0.0, 0.01, -0.01, 0.005]
    journal = open_journal(seed_history(tmp_path / "state", week, {"momentum": [100.0, -50.0, 0, 0, 20.0, 0, 0]}),
                           feed_kind="sim")
    try:
        parsed, used, before, after, openmetrics, ready = asyncio.run(_scrape_against_snapshot(SIM, True,
                                                                                               journal=journal))
    finally:
        journal.close()
    _assert_scrape_equals_snapshot(parsed, used, before, after)
    assert samples(openmetrics, openmetrics=True)  # still strictly valid with positions, VaR, histograms...
    assert len(series_of(parsed, "trader_var_usdt")) == 2
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_replay_of_a_real_recording_values_equal_the_trader():
    parsed, used, before, after, openmetrics, ready = asyncio.run(_scrape_against_snapshot(REPLAY, False))
    _assert_scrape_equals_snapshot(parsed, used, before, after)
    assert value(parsed, "trader_feed_messages_total", exchange="binance") > 1000
    # The recording holds bookTicker, trade and depth messages and no markPriceUpdate: no mark
    # price series (absent, never 0), while the book the trader holds is BTC's of that night.
    assert series_of(parsed, "trader_mark_price_usdt") == {}
    [btc] = [m for m in used.markets if (m.exchange, m.symbol) == ("binance", "BTCUSDT")]
    assert btc.mark_price is None and 50_000 < btc.best_bid < btc.best_ask < 70_000
    assert ready.status_code == 200
    assert "# EOF" in openmetrics


def test_trader_process_serves_clean_metrics(start_trader):
    trader = start_trader("--feed", "sim", "--exchanges", "binance,okx", "--symbols", "3")
    deadline = time.monotonic() + 10
    while requests.get(f"{trader.base_url}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the sim trader never became ready"
        time.sleep(0.3)
    text = trader.scrape()
    openmetrics = trader.scrape("application/openmetrics-text; version=1.0.0")
    health = requests.get(f"{trader.base_url}/healthz", timeout=5)
    lint = subprocess.run([require_binary("promtool"), "check", "metrics"], input=text, text=True, capture_output=True, timeout=30)
    assert lint.returncode == 0 and lint.stdout + lint.stderr == "", lint.stdout + lint.stderr
    parsed = samples(text)
    om = samples(openmetrics, openmetrics=True)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert value(parsed, "trader_feed_up", exchange="okx") == 1
    assert value(om, "process_open_fds") > 0
    assert {"process_cpu_seconds_total", "python_gc_collections_total", "trader_build_info"} <= _names(parsed)
    assert len(series_of(parsed, "trader_orders_total")) == 2 * 3 * 2 * 4  # zero series for every market
