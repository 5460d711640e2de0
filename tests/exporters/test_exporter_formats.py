"""The fast writer's output parses in both formats, says the same as prometheus_client's own
writer, passes ``promtool check metrics``, and stays within the documented series bounds."""

from __future__ import annotations

import subprocess

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_openmetrics

from exporters import risk, trading
from exporters.catalogue import CATALOGUE_PATH, FAMILIES, SCENARIO, all_specs, render_catalogue, series_bound
from exporters.registry import build_registry_from
from tests.exporters.scrape_parsing import samples
from tests.support.processes import require_binary
from tests.exporters.snapshot_factory import empty_snapshot, full_snapshot, scaled_snapshot
from trader.bus import EventBus
from trader.events import ApiRequest, ConditionFirstHeld, OrderAccepted, OrderFilled
from trader.vocabulary import CONDITIONS


def busy_registry(snapshot_fn=full_snapshot):
    bus = EventBus()
    registry = build_registry_from(snapshot_fn, bus)
    bus.publish(OrderAccepted("o1", "main", "binance", "BTCUSDT", 1.0, 0.12))
    bus.publish(OrderFilled("o1", "main", "m", "binance", "BTCUSDT", 1.0, "buy", "market", 1.0, 1.0, 0.1, "taker",
                            7.5, 0.0))
    bus.publish(ApiRequest("binance", "order", 1.0, 0.2, True))
    return registry


def promtool_check(text: str) -> str:
    result = subprocess.run([require_binary("promtool"), "check", "metrics"], input=text, text=True,
                            capture_output=True, timeout=30)
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else f" (exit {result.returncode})")


@pytest.mark.parametrize("snapshot_fn", [full_snapshot, empty_snapshot], ids=["full", "empty"])
def test_fast_writer_says_what_prometheus_client_says(snapshot_fn):
    registry = busy_registry(snapshot_fn)
    frame = registry.capture()
    ours_text = samples(registry.render(frame, openmetrics=False))
    ours_om = samples(registry.render(frame, openmetrics=True), openmetrics=True)
    stock_text = samples(generate_latest(registry).decode())
    stock_om = samples(generate_latest_openmetrics(registry).decode(), openmetrics=True)
    volatile = ("process_", "python_gc_", "trader_host_")  # read live, so they move between two reads
    stable = lambda parsed: {k: v for k, v in parsed.items() if not k[0].startswith(volatile)}  # noqa: E731
    assert stable(ours_text) == stable(stock_text)
    assert stable(ours_om) == stable(stock_om)
    # The same series in both, save host CPU: absent when two reads land within one clock tick.
    assert set(stable(ours_om)) == set(stable(stock_om))


@pytest.mark.parametrize("snapshot_fn", [full_snapshot, empty_snapshot], ids=["full", "empty"])
def test_promtool_check_metrics_reports_nothing(snapshot_fn):
    registry = busy_registry(snapshot_fn)
    assert promtool_check(registry.render(registry.capture(), openmetrics=False)) == ""


def test_openmetrics_output_is_strictly_valid():
    # The OpenMetrics parser rejects what the text parser forgives: a missing "# EOF", negative
    # counters or histogram sums, +Inf bucket != _count, a counter sample without "_total".
    registry = busy_registry()
    text = registry.render(registry.capture(), openmetrics=True)
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1
    parsed = samples(text, openmetrics=True)
    assert parsed[("trader_orders_total", (("account", "main"), ("exchange", "binance"), ("side", "buy"),
                                           ("status", "filled"), ("symbol", "BTCUSDT")))] == 8


def test_series_stay_within_the_documented_bounds():
    """The catalogue's series bounds hold for the 50-symbols-on-3-exchanges scenario."""
    snapshot = scaled_snapshot()
    assert len(snapshot.markets) == SCENARIO["M"] and len(snapshot.feeds) == SCENARIO["E"]
    bus = EventBus()
    registry = build_registry_from(lambda: snapshot, bus, process_metrics=False)
    registry.event_loop_lag.capture = lambda: {}  # as if probing, so the lag histogram is counted
    for account in snapshot.accounts:  # every watched condition has held once
        for condition in CONDITIONS:
            bus.publish(ConditionFirstHeld(account.name, condition, 1_700_000_000.0, 0.2, 0.1))
    parsed = samples(registry.render(registry.capture()))
    total = 0
    for spec in all_specs():
        suffixes = ("_bucket", "_count", "_sum") if spec.type == "histogram" else ("",)
        count = sum(1 for name, _ in parsed if name in {spec.name + s for s in suffixes})
        assert count <= series_bound(spec), f"{spec.name}: {count} series > bound {spec.series}"
        total += count
    bound = sum(series_bound(spec) for spec in all_specs())
    # Only figures absent by design are below their bound: the per-account figures the snapshot
    # holds as None, strategies without a Sharpe, and the host CPU share when the render came
    # within the clock tick the collector started in (no interval measured yet, no figure).
    figures = trading.ACCOUNT_FIGURES + risk.ACCOUNT_FIGURES
    none = sum(spec.read(account) is None for account in snapshot.accounts for spec in figures)
    no_sharpe = sum(s.sharpe_30d is None for account in snapshot.accounts for s in account.strategies)
    cpu_absent = ("trader_host_cpu_utilisation_ratio", ()) not in parsed
    assert no_sharpe == 1 and total == bound - none - no_sharpe - cpu_absent


def test_catalogue_is_fresh_and_lists_every_family():
    assert CATALOGUE_PATH.read_text() == render_catalogue(), \
        "docs/metrics.md is stale: run `python -m exporters.catalogue --write`"
    text = CATALOGUE_PATH.read_text()
    for _, _, specs in FAMILIES:
        for spec in specs:
            assert f"| `{spec.name}` |" in text


def test_catalogue_check_command_fails_on_a_stale_file(tmp_path, monkeypatch):
    import exporters.catalogue as catalogue

    stale = tmp_path / "metrics.md"
    stale.write_text(render_catalogue().replace("trader_equity_usdt", "trader_equity"))
    monkeypatch.setattr(catalogue, "CATALOGUE_PATH", stale)
    assert catalogue.main(["--check"]) == 1
    assert catalogue.main(["--write"]) == 0
    assert catalogue.main(["--check"]) == 0
