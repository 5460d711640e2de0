"""Each family shows the snapshot's figures under the documented names and labels; absent figures
stay absent; NaN/inf never appear; counters exist at 0; event histograms count the events."""

from __future__ import annotations

import math

import pytest

from exporters.registry import build_registry_from
from tests.exporters.scrape_parsing import samples, series_of, value
from tests.exporters.snapshot_factory import account, empty_snapshot, feed, full_snapshot, position, replace
from trader.vocabulary import PLACEMENT_FAILURE_REASONS, REJECT_REASONS
from trader.bus import EventBus
from trader.events import ApiRequest, OrderAccepted, OrderFilled


def scrape(snapshot, bus=None, openmetrics=False) -> dict:
    registry = build_registry_from(lambda: snapshot, bus or EventBus(), process_metrics=False)
    return samples(registry.render(registry.capture(), openmetrics), openmetrics)


def test_trading_figures_equal_the_snapshot():
    parsed = scrape(full_snapshot())
    assert value(parsed, "trader_equity_usdt", account="main") == 10_240.5
    assert value(parsed, "trader_funding_pnl_usdt", account="main") == -3.25
    assert value(parsed, "trader_daily_pnl_usdt", account="main") == 140.5
    assert value(parsed, "trader_commission_usdt_total", account="main", exchange="binance") == 12.75
    assert value(parsed, "trader_open_positions", account="main") == 2
    assert value(parsed, "trader_position_quantity", account="main", exchange="binance", symbol="ETHUSDT") == -1.5
    assert value(parsed, "trader_position_age_seconds", account="main", exchange="binance", symbol="ETHUSDT") == 4000
    assert value(parsed, "trader_closed_trades_total", account="main", strategy="momentum", status="loss") == 4
    assert value(parsed, "trader_signals_total", account="main", strategy="maker", side="sell") == 0
    assert value(parsed, "trader_volume_usdt_total", account="main", exchange="binance", symbol="BTCUSDT") == 48_000
    assert value(parsed, "trader_sharpe_30d", account="main") == 1.42
    assert value(parsed, "trader_strategy_sharpe_30d", account="main", strategy="momentum") == 1.1
    assert ("trader_strategy_sharpe_30d", (("account", "main"), ("strategy", "maker"))) not in parsed


def test_risk_figures_equal_the_snapshot():
    parsed = scrape(full_snapshot())
    assert value(parsed, "trader_drawdown_ratio", account="main") == 0.0248
    assert value(parsed, "trader_var_usdt", account="main", method="historical") == 321.0
    assert value(parsed, "trader_cvar_usdt", account="main", method="parametric") == 377.0
    assert value(parsed, "trader_liquidation_distance_ratio", account="main", exchange="binance",
                 symbol="ETHUSDT") == 0.04
    assert value(parsed, "trader_position_correlation_max", account="main") == 0.83
    assert value(parsed, "trader_limit_var_usdt", account="main") == 500.0
    assert value(parsed, "trader_limit_open_positions", account="main") == 4
    assert value(parsed, "trader_trading_halted", account="main") == 0
    assert value(parsed, "trader_risk_refusals_total", account="main", reason="leverage") == 3
    assert value(parsed, "trader_risk_refusals_total", account="main", reason="margin") == 0


def test_rejections_by_reason_equal_the_snapshot_and_tell_failures_from_benign():
    rejections = {("binance", "api_error"): 4, ("binance", "reduce_only"): 7, ("okx", "insufficient_margin"): 1}
    parsed = scrape(full_snapshot(accounts=(account(rejections=rejections),), feeds=(feed(), feed("okx"))))
    series = {(dict(k)["exchange"], dict(k)["reason"]): v
              for k, v in series_of(parsed, "trader_order_rejections_total").items()}
    # Every (exchange, reason) the broker knows, each at its count or 0; nothing else.
    assert series == {(e, r): rejections.get((e, r), 0) for e in ("binance", "okx") for r in REJECT_REASONS}
    assert set(PLACEMENT_FAILURE_REASONS) < set(REJECT_REASONS)


def test_two_strategies_in_one_market_make_one_series():
    held = (position(strategy="a", quantity=0.05, liq_distance=0.3, age=10.0),
            position(strategy="b", quantity=-0.02, liq_distance=0.2, age=50.0))
    parsed = scrape(full_snapshot(accounts=(account(positions=held),)))
    where = dict(account="main", exchange="binance", symbol="BTCUSDT")
    assert value(parsed, "trader_position_quantity", **where) == pytest.approx(0.03)
    assert value(parsed, "trader_liquidation_distance_ratio", **where) == 0.2
    assert value(parsed, "trader_position_age_seconds", **where) == 50.0
    assert value(parsed, "trader_open_positions", account="main") == 1


def test_execution_and_market_figures_equal_the_snapshot():
    parsed = scrape(full_snapshot())
    order = dict(account="main", exchange="binance", symbol="BTCUSDT")
    assert value(parsed, "trader_orders_total", **order, side="buy", status="filled") == 8
    assert value(parsed, "trader_orders_total", **order, side="sell", status="rejected") == 2
    assert value(parsed, "trader_orders_by_type_total", account="main", exchange="binance", order_type="post_only",
                 status="rejected") == 2
    assert value(parsed, "trader_api_requests_total", exchange="binance", endpoint="depth_snapshot",
                 status="error") == 1
    assert value(parsed, "trader_feed_up", exchange="binance") == 1
    assert value(parsed, "trader_feed_messages_total", exchange="binance") == 93_953
    assert value(parsed, "trader_feed_sequence_gaps_total", exchange="binance", symbol="BTCUSDT") == 1
    assert value(parsed, "trader_mark_price_usdt", exchange="binance", symbol="ETHUSDT") == 2_600.0
    assert value(parsed, "trader_funding_rate", exchange="binance", symbol="BTCUSDT") == 0.0001
    assert value(parsed, "trader_anomalies_total", exchange="binance", symbol="BTCUSDT", reason="zscore") == 4
    assert value(parsed, "trader_market_liquidations_total", exchange="binance", symbol="BTCUSDT", side="sell") == 1
    assert value(parsed, "trader_drill_active", drill="crash") == 1
    build = series_of(parsed, "trader_build_info")
    assert list(build.values()) == [1] and {k for k, _ in next(iter(build))} == {"version", "python_version"}
    for name in ("trader_host_memory_utilisation_ratio", "trader_host_disk_utilisation_ratio"):
        assert 0.0 < value(parsed, name) <= 1.0, name
    # CPU needs two readings a clock tick apart: right after start it may not exist yet
    # (test_exporter_http.py measures it between two scrapes).
    assert 0.0 <= parsed.get(("trader_host_cpu_utilisation_ratio", ()), 0.0) <= 1.0


def test_absent_figures_stay_absent():
    parsed = scrape(empty_snapshot())
    names = {name for name, _ in parsed}
    for absent in ("trader_sharpe_30d", "trader_sortino_30d", "trader_strategy_sharpe_30d", "trader_profit_factor",
                   "trader_var_usdt", "trader_cvar_usdt", "trader_position_correlation_max",
                   "trader_liquidation_distance_ratio", "trader_position_quantity", "trader_position_age_seconds",
                   "trader_mark_price_usdt", "trader_funding_rate", "trader_feed_last_message_timestamp_seconds",
                   "trader_drill_active"):
        assert absent not in names, absent
    assert value(parsed, "trader_open_positions", account="main") == 0
    assert value(parsed, "trader_feed_up", exchange="binance") == 0


def test_counters_with_known_labels_start_at_zero():
    parsed = scrape(empty_snapshot())
    statuses = {dict(k)["status"]: v for k, v in series_of(parsed, "trader_orders_total").items()
                if dict(k)["side"] == "sell"}
    assert statuses == {"submitted": 0, "filled": 0, "rejected": 0, "canceled": 0}
    assert len(series_of(parsed, "trader_orders_by_type_total")) == 4 * 4
    assert {dict(k)["reason"]: v for k, v in series_of(parsed, "trader_order_rejections_total").items()} == {
        "api_error": 0, "insufficient_margin": 0, "reduce_only": 0, "post_only_would_take": 0}
    assert {dict(k)["reason"] for k in series_of(parsed, "trader_risk_refusals_total")} == {
        "paused", "max_drawdown", "daily_loss", "var", "leverage", "position_size", "open_positions", "margin"}
    assert set(series_of(parsed, "trader_feed_messages_rejected_total").values()) == {0}
    assert len(series_of(parsed, "trader_feed_messages_rejected_total")) == 3
    assert len(series_of(parsed, "trader_anomalies_total")) == 4
    assert value(parsed, "trader_api_requests_total", exchange="binance", endpoint="depth_snapshot",
                 status="error") == 0
    assert value(parsed, "trader_commission_usdt_total", account="main", exchange="binance") == 0
    assert value(parsed, "trader_liquidations_total", account="main", exchange="binance", symbol="BTCUSDT") == 0
    assert value(parsed, "trader_closed_trades_total", account="main", strategy="momentum", status="win") == 0
    assert value(parsed, "trader_signals_total", account="main", strategy="momentum", side="buy") == 0
    # Histograms of configured exchanges exist, empty, before the first event.
    assert value(parsed, "trader_order_latency_seconds_count", exchange="binance") == 0
    assert value(parsed, "trader_api_request_duration_seconds_count", exchange="binance",
                 endpoint="depth_snapshot") == 0


@pytest.mark.parametrize("openmetrics", [False, True])
def test_nan_and_infinities_never_reach_the_output(openmetrics):
    nan, inf = math.nan, math.inf
    broken = account(equity_usdt=nan, sharpe_30d=inf, sortino_30d=-inf, leverage=nan, correlation_max=nan,
                     var_usdt={"historical": inf, "parametric": 10.0}, commission_usdt={"binance": -1.0},
                     positions=(position(liq_distance=nan),))
    bus = EventBus()
    registry = build_registry_from(lambda: full_snapshot(accounts=(broken,)), bus, process_metrics=False)
    bus.publish(OrderAccepted("o1", "main", "binance", "BTCUSDT", 1.0, nan))
    bus.publish(ApiRequest("binance", "order", 1.0, inf, True))
    text = registry.render(registry.capture(), openmetrics)
    values = {line.rsplit(" ", 1)[1].lower() for line in text.splitlines() if not line.startswith("#")}
    assert not values & {"nan", "inf", "+inf", "-inf"}
    parsed = samples(text, openmetrics)
    names = {name for name, _ in parsed}
    for dropped in ("trader_equity_usdt", "trader_sharpe_30d", "trader_sortino_30d", "trader_leverage",
                    "trader_position_correlation_max", "trader_liquidation_distance_ratio"):
        assert dropped not in names, dropped
    assert value(parsed, "trader_var_usdt", account="main", method="parametric") == 10.0
    # 9 snapshot figures (the negative commission counter among them; the NaN distance's position has a
    # NaN liquidation price too) and 2 events.
    assert value(parsed, "trader_exporter_dropped_samples_total") == 11
    assert value(parsed, "trader_order_latency_seconds_count", exchange="binance") == 0


def test_event_histograms_count_the_events():
    bus = EventBus()
    registry = build_registry_from(full_snapshot, bus, process_metrics=False)
    for latency in (0.004, 0.3, 0.7):
        bus.publish(OrderAccepted("o", "main", "binance", "BTCUSDT", 1.0, latency))
    fill = dict(order_id="o", account="main", strategy="momentum", exchange="binance", symbol="BTCUSDT", ts=1.0,
                side="buy", order_type="market", price=1.0, quantity=1.0, fee=0.0, remaining=0.0)
    bus.publish(OrderFilled(**fill, liquidity="taker", slippage_bps=60.0))
    bus.publish(OrderFilled(**fill, liquidity="taker", slippage_bps=-2.0))  # favourable: 0 adverse
    bus.publish(OrderFilled(**fill, liquidity="maker", slippage_bps=None))
    bus.publish(ApiRequest("bybit", "order", 1.0, 0.02, False, "HTTP 500"))
    parsed = scrape_registry(registry)
    lat = dict(exchange="binance")
    assert value(parsed, "trader_order_latency_seconds_bucket", **lat, le="0.005") == 1
    assert value(parsed, "trader_order_latency_seconds_bucket", **lat, le="0.5") == 2
    assert value(parsed, "trader_order_latency_seconds_bucket", **lat, le="+Inf") == 3
    assert value(parsed, "trader_order_latency_seconds_count", **lat) == 3
    assert value(parsed, "trader_order_latency_seconds_sum", **lat) == pytest.approx(1.004)
    slip = dict(account="main", exchange="binance")
    assert value(parsed, "trader_slippage_bps_count", **slip) == 2
    assert value(parsed, "trader_slippage_bps_bucket", **slip, le="0.0") == 1
    assert value(parsed, "trader_slippage_bps_bucket", **slip, le="50.0") == 1
    assert value(parsed, "trader_slippage_bps_sum", **slip) == 60.0
    # An endpoint first seen in an event (not declared) still gets its series.
    assert value(parsed, "trader_api_request_duration_seconds_bucket", exchange="bybit", endpoint="order",
                 le="0.025") == 1


def scrape_registry(registry) -> dict:
    return samples(registry.render(registry.capture(), openmetrics=True), openmetrics=True)


def test_snapshot_changes_show_in_the_next_scrape():
    current = {"snapshot": full_snapshot()}
    registry = build_registry_from(lambda: current["snapshot"], EventBus(), process_metrics=False)
    first = samples(registry.render(registry.capture()))
    current["snapshot"] = replace(full_snapshot(), accounts=(account(equity_usdt=9_000.0, trading_halted=True),))
    second = samples(registry.render(registry.capture()))
    assert value(first, "trader_equity_usdt", account="main") == 10_240.5
    assert value(second, "trader_equity_usdt", account="main") == 9_000.0
    assert value(second, "trader_trading_halted", account="main") == 1
    assert "trader_position_quantity" not in {name for name, _ in second}
