"""No secret in any log line or metric: canary secrets go in through the environment, and every
line the trader, the SMS relay and the render step write, and every metric they expose, is
searched for them.

The trader's config has no secret field (it trades on paper with public data) and refuses
unknown keys, so its canaries come through the environment, where a careless `log(os.environ)`
or a crash dump would leak them.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from prometheus_client.parser import text_string_to_metric_families

from tests.support.ports import free_port
from tests.support.processes import ManagedProcess, wait_until
from tests.support.trader import REPO_ROOT

REQUIRED_FIELDS = {"ts", "level", "logger", "msg"}


def _canaries() -> dict[str, str]:
    # Distinct values, each looking like what it stands for, none a substring of another.
    tag = uuid.uuid4().hex[:12]
    return {
        "DISCORD_WEBHOOK_URL": f"https://discord.com/api/webhooks/1/canary-discord-{tag}",
        "SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/T0/B0/canary-slack-{tag}",
        "TELEGRAM_BOT_TOKEN": f"123456:canary-telegram-{tag}",
        "TELEGRAM_CHAT_ID": "-100123",
        "SMTP_SMARTHOST": "127.0.0.1:2525",
        "SMTP_FROM": "a@example.com",
        "SMTP_TO": "b@example.com",
        "SMTP_USERNAME": "a@example.com",
        "SMTP_PASSWORD": f"canary-smtp-{tag}",
        "SMS_RELAY_URL": f"http://127.0.0.1:9/canary-relay-url-{tag}",
        "SMS_RELAY_TOKEN": f"canary-relay-token-{tag}",
        "TWILIO_ACCOUNT_SID": f"ACcanary{tag}",
        "TWILIO_AUTH_TOKEN": f"canary-twilio-{tag}",
        "TWILIO_FROM": "+15005550006",
        "SMS_TO": "+15551234567",
        "DEADMANSSWITCH_URL": f"https://hc-ping.com/canary-dms-{tag}",
        "GRAFANA_ADMIN_PASSWORD": f"canary-grafana-{tag}",
    }


SECRET_KEYS = ("DISCORD_WEBHOOK_URL", "SLACK_WEBHOOK_URL", "TELEGRAM_BOT_TOKEN", "SMTP_PASSWORD",
               "SMS_RELAY_URL", "SMS_RELAY_TOKEN", "TWILIO_AUTH_TOKEN", "DEADMANSSWITCH_URL",
               "GRAFANA_ADMIN_PASSWORD")


def _assert_no_canary(where: str, text: str, canaries: dict[str, str]) -> None:
    for key in SECRET_KEYS:
        value = canaries[key]
        # The distinctive part too: a secret cut or re-encoded still leaks.
        for needle in (value, value.rsplit("canary-", 1)[-1] if "canary-" in value else value):
            assert needle not in text, f"{key} leaked into {where}"


def _json_lines(where: str, text: str) -> list[dict]:
    lines = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            pytest.fail(f"{where}: not a JSON line: {raw[:200]!r}")
        missing = REQUIRED_FIELDS - set(line)
        assert not missing, f"{where}: line without {sorted(missing)}: {raw[:200]}"
        lines.append(line)
    return lines


def _with_a_fill(metrics: str) -> str | None:
    """``metrics`` if it counts a filled order, else None."""
    filled = sum(sample.value for family in text_string_to_metric_families(metrics) for sample in family.samples
                 if sample.name == "trader_orders_total" and sample.labels.get("status") == "filled")
    return metrics if filled > 0 else None


def test_trader_logs_and_metrics_hold_no_secret(start_trader, monkeypatch):
    canaries = _canaries()
    for key, value in canaries.items():
        monkeypatch.setenv(key, value)
    trader = start_trader("--feed", "sim", "--exchanges", "binance,bybit")
    # The paths that carry the most context (orders, fills, positions) must have run before the
    # log is searched: wait for a fill, not for some seconds.
    metrics = wait_until(lambda: _with_a_fill(trader.scrape()), 60, "a filled order in the trader's /metrics")
    trader.stop()
    text = trader.process.log_path.read_text()
    lines = _json_lines("trader log", text)
    assert any(line["level"] == "info" for line in lines), "the trader logged nothing on start"
    _assert_no_canary("the trader's log", text, canaries)
    _assert_no_canary("the trader's /metrics", metrics, canaries)


class _FailingTwilio(http.server.BaseHTTPRequestHandler):
    status = 500

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"sid": "SM1", "status": "queued"} if self.server.status < 300 else {"message": "down"}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FailingTwilio)
    server.status = 500
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _payload() -> dict:
    return {
        "version": "4", "groupKey": "{}:{alertname=\"TraderDrawdownHigh\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "sms", "groupLabels": {"alertname": "TraderDrawdownHigh"},
        "commonLabels": {"alertname": "TraderDrawdownHigh", "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": "firing", "labels": {"alertname": "TraderDrawdownHigh", "severity": "critical", "account": "main"},
            "annotations": {"summary": "main: drawdown 12.4% above the 10% limit"},
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": "a1b2c3d4e5f60718",
        }],
    }


def test_sms_relay_logs_and_metrics_hold_no_secret(tmp_path, twilio):
    assert (REPO_ROOT / "alertmanager" / "sms.py").is_file(), "missing alertmanager/sms.py (the SMS relay)"
    canaries = _canaries()
    port = free_port()
    env = {**canaries, "TWILIO_API_URL": f"http://127.0.0.1:{twilio.server_address[1]}"}
    relay = ManagedProcess("sms-relay", [sys.executable, "-m", "alertmanager.sms", "--port", str(port),
                                         "--host", "127.0.0.1"], tmp_path / "relay.log", cwd=REPO_ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        relay.wait_ready(f"{base}/healthz")
        wrong = requests.post(base + "/", json=_payload(), headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401
        right = {"Authorization": f"Bearer {canaries['SMS_RELAY_TOKEN']}"}
        failed = requests.post(base + "/", json=_payload(), headers=right, timeout=30)
        assert failed.status_code >= 500, "a provider failure must make Alertmanager retry"
        twilio.status = 201
        assert requests.post(base + "/", json=_payload(), headers=right, timeout=30).status_code == 200
        metrics = requests.get(f"{base}/metrics", timeout=10).text
    finally:
        relay.stop()
    text = relay.log_path.read_text()
    _json_lines("SMS relay log", text)
    _assert_no_canary("the SMS relay's log", text, canaries)
    _assert_no_canary("the SMS relay's /metrics", metrics, canaries)
    for answer in (failed.text,):
        _assert_no_canary("the SMS relay's answer to Alertmanager", answer, canaries)


def test_render_step_logs_no_secret_and_names_bad_secrets_without_their_value(tmp_path):
    canaries = _canaries()
    env = {**canaries, "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT)}
    out = tmp_path / "alertmanager.yml"
    ok = subprocess.run([sys.executable, "-m", "alertmanager.render", "--out", str(out)],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    _json_lines("render step log", ok.stdout + ok.stderr)
    _assert_no_canary("the render step's log", ok.stdout + ok.stderr, canaries)
    assert canaries["SMTP_PASSWORD"] in out.read_text(), "the config itself must hold the secrets"
    # A malformed secret is named, its value never printed.
    bad = {**env, "DISCORD_WEBHOOK_URL": "not-a-url-" + canaries["SMTP_PASSWORD"]}
    failed = subprocess.run([sys.executable, "-m", "alertmanager.render", "--out", str(tmp_path / "x.yml")],
                            env=bad, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2 and "DISCORD_WEBHOOK_URL" in failed.stderr
    _assert_no_canary("the render step's error", failed.stdout + failed.stderr, canaries)
