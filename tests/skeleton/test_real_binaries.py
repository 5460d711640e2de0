"""The first real tests of each kind: promtool, amtool, and a Prometheus scraping a real endpoint."""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.processes import require_binary

RULES = """
groups:
  - name: example
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
"""

BROKEN_RULES = """
groups:
  - name: example
    rules:
      - record: job:up:sum
        expr: sum by (job) (up
"""

ALERTMANAGER_CONFIG = """
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


def test_promtool_accepts_valid_rules_and_names_the_broken_line(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text(RULES)
    bad.write_text(BROKEN_RULES)
    promtool = require_binary("promtool")
    ok = subprocess.run([promtool, "check", "rules", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "SUCCESS: 1 rules found" in ok.stdout
    broken = subprocess.run([promtool, "check", "rules", str(bad)], capture_output=True, text=True)
    assert broken.returncode != 0
    assert "parse error" in broken.stdout + broken.stderr


def test_amtool_checks_an_alertmanager_config(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    amtool = require_binary("amtool")
    ok = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    config.write_text(ALERTMANAGER_CONFIG.replace("blackhole\nreceivers", "nobody\nreceivers"))
    missing = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert missing.returncode != 0
    assert "undefined receiver" in missing.stdout + missing.stderr


class _MetricsHandler(BaseHTTPRequestHandler):
    body = b"# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\ndemo_requests_total 42\n"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def metrics_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MetricsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_prometheus_scrapes_a_real_endpoint_and_answers_a_query(start_prometheus, metrics_endpoint) -> None:
    prom = start_prometheus(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ["{metrics_endpoint}"]
""", files={"rules.yml": RULES})
    prom.wait_until(lambda: prom.query("demo_requests_total"), 20, "the first scrape of the demo endpoint")
    sample = prom.query("demo_requests_total")[0]
    assert sample["metric"]["job"] == "demo"
    assert float(sample["value"][1]) == 42
    recorded = prom.wait_until(lambda: prom.query('job:up:sum{job="demo"}'), 20, "the recording rule")
    assert float(recorded[0]["value"][1]) == 1


def test_alertmanager_accepts_an_alert(start_alertmanager) -> None:
    am = start_alertmanager(ALERTMANAGER_CONFIG)
    am.post_alerts([{"labels": {"alertname": "Demo", "severity": "warning"}}])
    alerts = am.wait_until(lambda: am.alerts(), 10, "the posted alert")
    assert alerts[0]["labels"]["alertname"] == "Demo"
