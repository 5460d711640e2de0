"""The HTTP endpoint: /metrics in both formats, /healthz, /readyz, snapshots taken on the loop
thread, and a real Prometheus scraping it (it negotiates OpenMetrics and rejects bad output)."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import pytest
import requests

from exporters.http import start_metrics_server
from exporters.registry import build_registry_from
from tests.exporters.scrape_parsing import samples, value
from tests.exporters.snapshot_factory import NOW, feed, full_snapshot, market, replace, watch
from trader.bus import EventBus


@contextmanager
def loop_thread():
    """An asyncio loop running in its own thread, standing in for the trader's loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="trader-loop", daemon=True)
    thread.start()
    try:
        yield loop, thread
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


@contextmanager
def serving(snapshot_fn, loop=None, **kwargs):
    registry = build_registry_from(snapshot_fn, EventBus())
    server = start_metrics_server(None, 0, "127.0.0.1", registry=registry, loop=loop, **kwargs)
    try:
        yield server
    finally:
        server.close()


def test_metrics_in_text_format_and_openmetrics_by_negotiation():
    with serving(full_snapshot) as server:
        text = requests.get(f"{server.url}/metrics", timeout=5)
        om = requests.get(f"{server.url}/metrics", timeout=5,
                          headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"})
    assert text.status_code == 200 and text.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert om.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert om.text.endswith("# EOF\n") and "# EOF" not in text.text
    assert value(samples(text.text), "trader_equity_usdt", account="main") == 10_240.5
    assert value(samples(om.text, openmetrics=True), "trader_equity_usdt", account="main") == 10_240.5
    assert value(samples(om.text, openmetrics=True), "process_open_fds") > 0


def test_snapshots_are_taken_on_the_loop_thread():
    seen = []

    def snapshot():
        seen.append(threading.current_thread().name)
        return full_snapshot()

    with loop_thread() as (loop, _), serving(snapshot, loop=loop) as server:
        assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 200
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        # The lag probe runs on the loop: its histogram appears after the first wake-up.
        lag = None
        for _ in range(20):
            parsed = samples(requests.get(f"{server.url}/metrics", timeout=5).text)
            lag = parsed.get(("trader_event_loop_lag_seconds_count", ()))
            if lag:
                break
            threading.Event().wait(0.1)
    assert seen and set(seen) == {"trader-loop"}
    assert lag and lag >= 1


def test_a_stuck_loop_gives_503_not_a_hang(monkeypatch):
    import exporters.http as http

    monkeypatch.setattr(http, "LOOP_TIMEOUT", 0.3)
    with loop_thread() as (loop, _), serving(full_snapshot, loop=loop) as server:
        blocker = threading.Event()
        loop.call_soon_threadsafe(blocker.wait, 3)
        response = requests.get(f"{server.url}/metrics", timeout=5)
        health = requests.get(f"{server.url}/healthz", timeout=5)
        blocker.set()
    assert response.status_code == 503 and "did not answer" in response.json()["error"]
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_host_cpu_is_measured_between_scrapes_from_different_threads():
    with serving(full_snapshot) as server:
        requests.get(f"{server.url}/metrics", timeout=5)  # each request runs in a new thread
        busy_until = time.monotonic() + 0.3
        while time.monotonic() < busy_until:  # keep one core busy between the two scrapes
            pass
        parsed = samples(requests.get(f"{server.url}/metrics", timeout=5).text)
    assert value(parsed, "trader_host_cpu_utilisation_ratio") > 0.1


@pytest.mark.parametrize("snapshot, ready, why", [
    (full_snapshot(), True, None),
    (full_snapshot(feeds=(feed(), feed("okx", connected=False))), False, "okx"),
    (full_snapshot(markets=(market(last=NOW - 60),)), False, "binance"),
    (full_snapshot(markets=(market(last=None),)), False, "binance"),
    (full_snapshot(feeds=()), False, None),
], ids=["fresh", "one-feed-down", "stale", "no-message-yet", "no-feed"])
def test_readyz(snapshot, ready, why):
    snapshot = replace(snapshot, markets=snapshot.markets + (market("okx", "BTCUSDT"),))
    with serving(lambda: snapshot) as server:
        response = requests.get(f"{server.url}/readyz", timeout=5)
        unknown = requests.get(f"{server.url}/nope", timeout=5)
    assert response.status_code == (200 if ready else 503)
    body = response.json()
    assert body["ready"] is ready
    if why:
        assert body["feeds"][why]["ready"] is False
    assert unknown.status_code == 404 and "/metrics" in unknown.json()["error"]


def test_readyz_says_why_a_feed_is_down_and_how_each_exchange_account_goes():
    down = feed("okx", connected=False, last_error="HTTP 451 Unavailable For Legal Reasons")
    snapshot = full_snapshot(
        feeds=(feed(), down),
        markets=(market(),),
        account_watch=(watch("binance"), watch("bybit", "bybit", state="backoff", last_error="auth",
                                                last_success_ts=NOW - 95.0)))
    with serving(lambda: snapshot) as server:
        body = requests.get(f"{server.url}/readyz", timeout=5).json()
    assert body["feeds"]["okx"]["state"] == "backoff"
    assert body["feeds"]["okx"]["last_error"] == "HTTP 451 Unavailable For Legal Reasons"
    assert body["feeds"]["binance"]["last_error"] is None
    assert body["accounts"]["bybit"] == {"exchange": "bybit", "state": "backoff",
                                         "last_read_age_seconds": 95.0, "last_error": "auth"}
    assert body["accounts"]["binance"]["state"] == "watching"
    # Accounts are shown, not counted: only the okx feed makes the trader unready.
    assert body["ready"] is False and body["feeds"]["binance"]["ready"] is True


@pytest.mark.slow
def test_real_prometheus_scrapes_it(start_prometheus):
    with loop_thread() as (loop, _), serving(full_snapshot, loop=loop) as server:
        prometheus = start_prometheus(f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: trader
    static_configs: [{{targets: ["127.0.0.1:{server.port}"]}}]
""")
        prometheus.wait_until(lambda: prometheus.query('up{job="trader"} == 1'), 20, "the trader target is up")
        equity = prometheus.query('trader_equity_usdt{account="main"}')
        refusals = prometheus.query('sum(trader_risk_refusals_total{account="main"})')
        buckets = prometheus.query('count(trader_order_latency_seconds_bucket{exchange="binance"})')
        target = prometheus.targets()[0]
    assert float(equity[0]["value"][1]) == 10_240.5
    assert float(refusals[0]["value"][1]) == 3
    assert float(buckets[0]["value"][1]) == 11
    assert target["health"] == "up" and target["lastError"] == ""
