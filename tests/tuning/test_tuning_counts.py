"""Known series with known crossings give exact counts, through a real Prometheus.

The series are written as OpenMetrics and backfilled with ``promtool tsdb create-blocks-from
openmetrics``; the tool queries that Prometheus like a live one (``--prometheus URL --from --to``)
with the project's real TraderDrawdownHigh rule (for 30 s), and with a small rule of our own for
``keep_firing_for``. Timeline of ``trader_drawdown_ratio`` (seconds after BASE, a sample every 5 s):

    main:  0.05 [0,120)  0.12 [120,180)  0.08 [180,240)  0.15 [240,260)  0.05 [260,320)  0.20 [320,500)  0.05 [500,560)
    spare: 0.01 [0,300)  0.11 [300,560)
"""

from __future__ import annotations


import pytest

from tests.alertmanager.am_stack import ALL_CHANNELS, render_config
from tests.support.prometheus import PrometheusServer
from tests.tuning.tuning_support import backfill, tuning_json, write_openmetrics

BASE = 1_700_000_000  # a multiple of the 5 s evaluation interval
END = BASE + 555      # the last sample

MAIN = [(120, 0.05), (60, 0.12), (60, 0.08), (20, 0.15), (60, 0.05), (180, 0.20), (60, 0.05)]
SPARE = [(300, 0.01), (260, 0.11)]
DEMO = [(60, 1.0), (10, 0.0), (30, 1.0), (60, 0.0)]  # for keep_firing_for: a 10 s dip, then gone


def _points(segments):
    points, t = [], BASE
    for seconds, value in segments:
        for _ in range(seconds // 5):
            points.append((t, value))
            t += 5
    return points


DEMO_RULES = """\
groups:
  - name: demo-thresholds
    rules:
      - record: demo:level_limit:ratio
        expr: vector(0.5)
  - name: demo-alerts
    rules:
      - alert: DemoLevelHigh
        expr: demo_level_ratio > on () group_left () demo:level_limit:ratio
        for: 10s
        keep_firing_for: 20s
        labels:
          severity: warning
          category: system
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    work = tmp_path_factory.mktemp("tuning-history")
    om = write_openmetrics(work / "known.om", {
        "trader_drawdown_ratio": ("gauge", {'{account="main"}': _points(MAIN), '{account="spare"}': _points(SPARE)}),
        "demo_level_ratio": ("gauge", {'{instance="demo"}': _points(DEMO)}),
    })
    backfill(om, work / "prometheus" / "data")
    server = PrometheusServer(work / "prometheus", "global:\n  evaluation_interval: 5s\n")
    (work / "demo" / "rules").mkdir(parents=True)
    (work / "demo" / "rules" / "demo.yml").write_text(DEMO_RULES)
    (work / "demo" / "prometheus.yml").write_text("global:\n  evaluation_interval: 5s\n")
    rendered = render_config(work / "am", ALL_CHANNELS)  # the real routing, every channel set
    yield server, rendered.path, work / "demo"
    server.stop()


def _drawdown(history, *values: str, extra: tuple[str, ...] = ()) -> dict:
    server, am_config, _ = history
    return tuning_json("TraderDrawdownHigh", "--threshold", *values, "--prometheus", server.url,
                       "--from", str(BASE), "--to", str(END), "--alertmanager-config", str(am_config), *extra)


def test_each_candidate_counts_the_crossings_that_last_past_for(history):
    report = _drawdown(history, "0.10", "0.13", "0.25")
    by_value = {c["value"]: c for c in report["candidates"]}
    assert report["for_seconds"] == 30 and report["interval_seconds"] == 5

    at_10 = by_value[0.10]  # main 150-180 and 350-500, spare 330-end; the 20 s spike never fires
    assert at_10["alerts"] == 3
    assert at_10["firing_seconds"] == 30 + 150 + 225
    assert at_10["longest_seconds"] == 225
    assert [(e["labels"]["account"], e["fired_at"], e["resolved_at"]) for e in at_10["episodes"]] == [
        ("main", "2023-11-14T22:15:50Z", "2023-11-14T22:16:20Z"),
        ("spare", "2023-11-14T22:18:50Z", None),
        ("main", "2023-11-14T22:19:10Z", "2023-11-14T22:21:40Z"),
    ]
    assert at_10["episodes"][0]["labels"] == {"account": "main", "alertname": "TraderDrawdownHigh",
                                              "severity": "critical", "category": "risk"}

    assert by_value[0.13]["alerts"] == 1 and by_value[0.13]["firing_seconds"] == 150
    assert by_value[0.25]["alerts"] == 0 and by_value[0.25]["notifications"] == {}


def test_notifications_follow_the_rendered_routing_and_timing(history):
    # critical: group_wait 10 s, group_interval 2 m, repeat 1 h, grouped by account. main: page at
    # 160, resolved told at 280 (not by SMS: send_resolved false), its group then dropped, so the
    # second crossing pages again at 360; spare pages at 340.
    at_10 = _drawdown(history, "0.10")["candidates"][0]
    assert at_10["notifications"] == {"sms": 3, "telegram": 4, "discord": 4, "email": 4, "slack": 4}
    assert at_10["pages"] == 3


def test_for_override_counts_short_spikes(history):
    at_10 = _drawdown(history, "0.10", extra=("--for", "0s"))["candidates"][0]
    assert at_10["alerts"] == 4  # the 20 s spike fires too
    assert at_10["firing_seconds"] == 60 + 20 + 180 + 255


def test_keep_firing_for_bridges_a_dip_and_holds_after_the_end(history):
    server, am_config, demo = history
    report = tuning_json("DemoLevelHigh", "--threshold", "0.5", "2", "--rules", str(demo / "rules" / "*.yml"),
                         "--prometheus-config", str(demo / "prometheus.yml"), "--prometheus", server.url,
                         "--from", str(BASE), "--to", str(BASE + 155), "--alertmanager-config", str(am_config))
    at_half, at_two = report["candidates"]
    # fires at 10 (for 10 s), the dip at 60-70 is bridged, gone at 100, kept until 120
    assert [(e["fired_at"], e["resolved_at"]) for e in at_half["episodes"]] == [
        ("2023-11-14T22:13:30Z", "2023-11-14T22:15:20Z")]
    assert at_half["firing_seconds"] == 110
    assert at_two["alerts"] == 0
