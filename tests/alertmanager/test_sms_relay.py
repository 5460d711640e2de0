"""The SMS relay: one-segment texts, bearer token, payload checks, 5xx when Twilio fails so
Alertmanager retries, and no SMS sent twice. Twilio is a real local HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
import requests
from prometheus_client import CollectorRegistry

from alertmanager.sms_relay import RelayMetrics, SmsRelay
from alertmanager.sms_text import gsm7_length, sms_text
from alertmanager.twilio import TwilioClient
from tests.alertmanager.am_fakes import TWILIO_SID, TWILIO_TOKEN, FakeHttpService
from tests.alertmanager.am_stack import start_sms_relay
from tests.support.trader import REPO_ROOT

TOKEN = "relay-token-for-tests"


def _payload(*alerts: dict, group: str = '{}/{severity="critical"}:{alertname="TraderDrawdownHigh"}') -> dict:
    return {"version": "4", "groupKey": group, "status": "firing", "receiver": "sms", "truncatedAlerts": 0,
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "someFutureField": {"tolerated": True}, "alerts": list(alerts)}


def _alert(name: str = "TraderDrawdownHigh", summary: str = "Drawdown 12.4% above the 10% limit",
           fingerprint: str = "f1", status: str = "firing") -> dict:
    return {"status": status, "labels": {"alertname": name, "severity": "critical", "account": "main"},
            "annotations": {"summary": summary}, "startsAt": "2026-01-01T03:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": fingerprint, "generatorURL": "http://prom"}


# --- the text ------------------------------------------------------------------------------


def test_text_is_one_gsm7_segment():
    text = sms_text(_alert(summary="Drawdown 12.4% of peak equity 10,240 USDT " * 10))
    assert text.startswith("CRITICAL TraderDrawdownHigh main: Drawdown 12.4%") and text.endswith("...")
    assert gsm7_length(text) == 160


def test_typographic_characters_do_not_force_ucs2():
    text = sms_text(_alert(summary="Drawdown “12.4%” — above limit… ≥ 10%"))
    assert text == 'CRITICAL TraderDrawdownHigh main: Drawdown "12.4%" - above limit... >= 10%'
    assert gsm7_length(text) is not None


def test_extended_characters_count_twice():
    text = sms_text(_alert(summary="{" * 200))
    assert gsm7_length(text) <= 160 and len(text) < 160


def test_text_that_cannot_be_gsm7_fits_one_ucs2_segment():
    text = sms_text(_alert(summary="Просадка 12.4% выше лимита 10% на счёте main " * 3))
    assert gsm7_length(text) is None and len(text.encode("utf-16-le")) // 2 <= 70


# --- the relay logic, in process -----------------------------------------------------------


@pytest.fixture
def twilio():
    service = FakeHttpService("twilio")
    yield service
    service.stop()


def _relay(twilio: FakeHttpService, recipients=("+15550001111",), timeout=5.0):
    registry = CollectorRegistry()
    client = TwilioClient(TWILIO_SID, TWILIO_TOKEN, "+15559990000", api_url=twilio.url, timeout_seconds=timeout)
    return SmsRelay(client, list(recipients), RelayMetrics(registry)), registry


def test_each_firing_alert_is_one_sms_to_each_recipient(twilio):
    relay, registry = _relay(twilio, recipients=("+15550001111", "+15550002222"))
    outcome = relay.deliver(_payload(_alert(), _alert("TraderFeedDown", "Feed binance down", "f2"),
                                     _alert("TraderOld", "resolved one", "f3", status="resolved")))
    assert outcome.status == 200 and outcome.sent == 4
    sent = sorted((r.form["To"], r.form["Body"]) for r in twilio.received)
    assert sent == [
        ("+15550001111", "CRITICAL TraderDrawdownHigh main: Drawdown 12.4% above the 10% limit"),
        ("+15550001111", "CRITICAL TraderFeedDown main: Feed binance down"),
        ("+15550002222", "CRITICAL TraderDrawdownHigh main: Drawdown 12.4% above the 10% limit"),
        ("+15550002222", "CRITICAL TraderFeedDown main: Feed binance down"),
    ]
    assert registry.get_sample_value("sms_relay_messages_sent_total") == 4


def test_provider_failure_is_5xx_and_the_retry_sends_only_the_unsent(twilio):
    relay, registry = _relay(twilio)
    payload = _payload(_alert(), _alert("TraderFeedDown", "Feed binance down", "f2"))
    twilio.fail_when = lambda request: "TraderFeedDown" in request.form["Body"]
    first = relay.deliver(payload)
    assert first.status == 502 and first.sent == 1 and first.failed == ["http_5xx"]
    twilio.fail_when = None
    second = relay.deliver(payload)  # Alertmanager's retry of the same notification
    assert second.status == 200 and second.sent == 1 and second.skipped == 1
    bodies = [r.form["Body"] for r in twilio.received]
    assert sorted(bodies) == sorted(set(bodies)) and len(bodies) == 2  # nothing twice
    assert registry.get_sample_value("sms_relay_retries_total") == 1
    assert registry.get_sample_value("sms_relay_messages_failed_total", {"reason": "http_5xx"}) == 1
    assert relay.deliver(payload).sent == 0  # a third delivery (group update): nothing new


def test_a_new_firing_of_the_same_alert_is_sent_again(twilio):
    relay, _ = _relay(twilio)
    relay.deliver(_payload(_alert()))
    again = _alert()
    again["startsAt"] = "2026-01-01T05:00:00Z"  # it resolved and fired again: a new incident
    assert relay.deliver(_payload(again)).sent == 1


def test_provider_timeout_is_5xx(twilio):
    twilio.delay_seconds = 1.0
    relay, registry = _relay(twilio, timeout=0.3)
    outcome = relay.deliver(_payload(_alert()))
    assert outcome.status == 502 and outcome.failed == ["timeout"]
    assert registry.get_sample_value("sms_relay_send_duration_seconds_count") == 1


def test_a_storm_is_five_sms_and_one_summary(twilio):
    relay, _ = _relay(twilio)
    alerts = [_alert("TraderPositionLiquidated", f"Position {i} liquidated", f"f{i}") for i in range(40)]
    assert relay.deliver(_payload(*alerts)).sent == 6
    assert twilio.received[-1].form["Body"] == "+35 more firing: TraderPositionLiquidated. See Alertmanager."


# --- the relay process, over HTTP ------------------------------------------------------------


@pytest.fixture
def relay_process(tmp_path, twilio):
    env = {"SMS_RELAY_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
           "TWILIO_FROM": "+15559990000", "SMS_TO": "+15550001111", "TWILIO_API_URL": twilio.url}
    relay = start_sms_relay(tmp_path, env)
    yield relay
    relay.stop()


def _post(relay, body, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{relay.url}/alert", data=data, headers=headers, timeout=15)


def test_http_token_payload_and_provider_answers(relay_process, twilio):
    assert _post(relay_process, _payload(_alert()), token=None).status_code == 401
    assert _post(relay_process, _payload(_alert()), token="wrong").status_code == 401
    assert _post(relay_process, b"{not json").status_code == 400
    assert _post(relay_process, {**_payload(_alert()), "version": "3"}).status_code == 400
    assert _post(relay_process, {**_payload(), "alerts": [{"labels": "x"}]}).status_code == 400
    assert twilio.received == []
    twilio.fail_for(60, status=503)
    assert _post(relay_process, _payload(_alert())).status_code == 502
    twilio.fail_for(0)
    answer = _post(relay_process, _payload(_alert()))
    assert answer.status_code == 200 and answer.json()["sent"] == 1
    assert _post(relay_process, _payload(_alert())).json() == {"sent": 0, "skipped_duplicates": 1, "failed": []}
    metrics = requests.get(f"{relay_process.url}/metrics", timeout=5).text
    assert "sms_relay_messages_sent_total 1.0" in metrics
    assert 'sms_relay_requests_total{code="401"} 2.0' in metrics
    assert "sms_relay_send_duration_seconds_bucket" in metrics
    log = relay_process.process.log_text()
    assert TOKEN not in log and TWILIO_TOKEN not in log and "+15550001111" not in log
    assert all(json.loads(line)["logger"] for line in log.splitlines())  # JSON lines only


def test_concurrent_retries_send_once(relay_process, twilio):
    twilio.delay_seconds = 0.5
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(_post(relay_process, _payload(_alert()))))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(twilio.received) == 1


@pytest.mark.parametrize("missing, expected", [
    ("SMS_RELAY_TOKEN", "SMS_RELAY_TOKEN is not set"),
    ("SMS_TO", "SMS_TO is not set"),
])
def test_refuses_to_start_without_its_settings(missing, expected):
    env = {"PATH": "/usr/bin:/bin", "SMS_RELAY_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": TWILIO_SID,
           "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM": "+15559990000", "SMS_TO": "+15550001111"}
    del env[missing]
    result = subprocess.run([sys.executable, "-m", "alertmanager.sms", "--port", "0"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr
