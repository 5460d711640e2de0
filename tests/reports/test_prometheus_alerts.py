"""Alerts fired in the period, from a real Prometheus holding a known ``ALERTS`` history
(backfilled with ``promtool tsdb create-blocks-from openmetrics``, a sample every 15 s while an
alert fires, as the rule evaluation writes it).

Day 2026-05-05 (UTC), account ``main`` of trader ``paper-1``:

    TraderDrawdownHigh  main, critical    10:00-10:20 and 14:00-14:05     -> 2 times
    TraderWinRateLow    main, warning     from 23:50 the day before to 00:10 -> 1 (it fired into the day)
    TraderFeedDown      no account        12:00-12:02                      -> 1 (system-wide alerts count)
    TraderDrawdownHigh  other             11:00-11:30                      -> not main's
    TraderDrawdownHigh  main, paper-2     15:00-15:10                      -> another trader's
    TraderLatencyHigh   main, pending     09:00-09:01                      -> never fired
    TraderDrawdownHigh  main              the next day 01:00-01:10         -> outside the period
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from reports.periods import period_containing
from reports.prometheus import PrometheusReader
from tests.reports.journal_fixture import create_journal, ts
from tests.support.ports import free_port
from tests.support.prometheus import PrometheusServer
from tests.support.trader import REPO_ROOT
from tests.tuning.tuning_support import backfill, write_openmetrics

DAY = "2026-05-05"


def _firing(start: float, end: float) -> list[tuple[float, float]]:
    return [(t, 1.0) for t in range(int(start), int(end) + 1, 15)]


def _labels(alertname: str, severity: str, state: str = "firing", **extra: str) -> str:
    labels = {"alertname": alertname, "alertstate": state, "severity": severity, **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    work = tmp_path_factory.mktemp("alerts-history")
    main = {"account": "main", "trader": "paper-1"}
    alerts = {
        _labels("TraderDrawdownHigh", "critical", **main): _firing(ts(DAY, 10), ts(DAY, 10 + 20 / 60))
        + _firing(ts(DAY, 14), ts(DAY, 14 + 5 / 60)),
        _labels("TraderWinRateLow", "warning", **main): _firing(ts("2026-05-04", 23 + 50 / 60), ts(DAY, 10 / 60)),
        _labels("TraderFeedDown", "critical", exchange="binance", trader="paper-1"):
            _firing(ts(DAY, 12), ts(DAY, 12 + 2 / 60)),
        _labels("TraderDrawdownHigh", "critical", account="other", trader="paper-1"): _firing(ts(DAY, 11), ts(DAY, 11.5)),
        _labels("TraderDrawdownHigh", "critical", account="main", trader="paper-2"):
            _firing(ts(DAY, 15), ts(DAY, 15 + 10 / 60)),
        _labels("TraderLatencyHigh", "warning", "pending", **main): _firing(ts(DAY, 9), ts(DAY, 9 + 1 / 60)),
    }
    alerts[_labels("TraderDrawdownHigh", "critical", **main)] += _firing(ts("2026-05-06", 1), ts("2026-05-06", 1 + 10 / 60))
    # Reconnects: 0 until 08:00, 1 until 16:00, 3 after, sampled every 5 min across the day.
    reconnects = [(t, 0.0 if t < ts(DAY, 8) else 1.0 if t < ts(DAY, 16) else 3.0)
                  for t in range(int(ts("2026-05-04", 23)), int(ts("2026-05-06", 2)), 300)]
    families = {"ALERTS": ("gauge", {labels: sorted(points) for labels, points in alerts.items()}),
                "trader_feed_reconnects": ("counter", {'{exchange="binance",trader="paper-1"}': reconnects})}
    backfill(write_openmetrics(work / "alerts.om", families), work / "prometheus" / "data")
    server = PrometheusServer(work / "prometheus", "global:\n  evaluation_interval: 15s\n")
    yield server
    server.stop()


def test_alerts_fired_in_the_period(prometheus):
    period = period_containing("day", ts(DAY))
    fired = PrometheusReader(prometheus.url, trader="paper-1").alerts_fired("main", period.start, period.end)
    assert [(a.alertname, a.severity, a.times) for a in fired] == [
        ("TraderDrawdownHigh", "critical", 2), ("TraderFeedDown", "critical", 1), ("TraderWinRateLow", "warning", 1)]
    drawdown = fired[0]
    assert 24 * 60 <= drawdown.firing_seconds <= 28 * 60  # 21 + 6 one-minute steps, from 25 minutes of firing


def test_operational_figures(prometheus):
    period = period_containing("day", ts(DAY))
    ops = PrometheusReader(prometheus.url, trader="paper-1").operational("main", period.start, period.end)
    assert ops.feed_reconnects == pytest.approx(3.0, abs=0.2)
    assert ops.trader_up_ratio is None and ops.order_rejections is None  # no such series: absent, not zero


def test_the_report_lists_them_and_survives_an_unreachable_prometheus(prometheus, tmp_path):
    journal = create_journal(tmp_path)
    journal.account("main", created=ts("2026-05-01"))
    journal.daily("main", DAY, 10_000.0, 25.0)
    journal.close()
    run = lambda url: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "reports", "--state-dir", str(tmp_path), "--prometheus", url, "--account", "main",
         "--period", "day", "--at", DAY, "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    done = run(prometheus.url)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / f"report-main-day-{DAY}.html").read_text()
    assert "TraderDrawdownHigh" in html and "2× · 27 min · critical" in html and "TraderFeedDown" in html
    assert "Feed reconnects" in html
    down = run(f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 0, down.stderr  # the journal's figures do not need Prometheus
    html = (tmp_path / "out" / f"report-main-day-{DAY}.html").read_text()
    assert "unavailable: Prometheus at http://127.0.0.1:" in html and "is unreachable" in html
