"""``python -m doctor --notify``: a test alert through the real Alertmanager to every channel's
stand-in, judged from Alertmanager's own counters, then resolved; a channel answering 500 is
reported failed while the others, including one sharing its integration, are delivered."""

from __future__ import annotations

import requests
import pytest

from tests.alertmanager.am_fakes import TELEGRAM_TOKEN, discord_embed, start_receivers
from tests.alertmanager.am_stack import FAST_TIMING, render_config
from tests.doctor.doctor_stack import RELAY_TOKEN, run_doctor
from tests.support.alertmanager import AlertmanagerServer

pytestmark = pytest.mark.slow

ALERT = "StackTestNotification"
ONLY_ALERTMANAGER = [f"--skip={s}" for s in ("prometheus", "trader", "grafana", "loki", "alloy")]


def _test_alerts(alertmanager_url: str) -> list[dict]:
    return requests.get(f"{alertmanager_url}/api/v2/alerts", params={"filter": f'alertname="{ALERT}"'},
                        timeout=5).json()


def _mentions(*words: str):
    return lambda request: all(word in request.body.decode(errors="replace") for word in words)


def test_every_channel_gets_one_marked_test_message_then_it_is_resolved(stack):
    result = run_doctor(f"--alertmanager={stack.alertmanager.url}", *ONLY_ALERTMANAGER, "--notify")
    assert result.returncode == 0, result.stdout + result.stderr
    for channel, integration in (("sms", "webhook"), ("telegram", "telegram"), ("discord", "slack"),
                                 ("email", "email"), ("slack", "slack"), ("deadmansswitch", "webhook")):
        assert f"  ✔ {channel}: delivered through the {integration} integration" in result.stdout, result.stdout
    assert "  ✔ resolved: test alerts of run " in result.stdout
    fakes = stack.fakes

    # Each channel got its own test message, clearly marked, and no other channel's.
    discord = [discord_embed(r) for r in fakes.discord.received if ALERT in r.body.decode()]
    assert discord and all("TEST" in e["title"] and "for discord" in e["description"] for e in discord), discord
    slack = [r.json["attachments"][0] for r in fakes.slack.received if ALERT in r.body.decode()]
    assert slack and all("for slack" in a["text"] for a in slack)
    telegram = [r for r in fakes.telegram.received if _mentions(ALERT)(r)]
    assert telegram and all("for telegram" in r.body.decode() for r in telegram)
    mails = fakes.smtp.wait_for(lambda m: ALERT in m["Subject"])
    assert all("for email" in m.get_body(("plain",)).get_content() for m in mails)
    sms = [r.form["Body"] for r in fakes.twilio.received if ALERT in r.form.get("Body", "")]
    assert len(sms) == 1 and sms[0].startswith("TEST ") and "for sms" in sms[0], sms
    pings = [r.json for r in fakes.deadmansswitch.received if ALERT in r.body.decode()]
    assert pings and all(a["labels"]["channel"] == "deadmansswitch" for p in pings for a in p["alerts"])

    # Resolved: Alertmanager holds no active test alert and says so to the channels that send it.
    assert _test_alerts(stack.alertmanager.url) == []
    fakes.discord.wait_for(lambda r: ALERT in r.body.decode() and "RESOLVED" in discord_embed(r)["title"])
    fakes.telegram.wait_for(_mentions(ALERT, "RESOLVED"))
    assert TELEGRAM_TOKEN not in result.stdout and RELAY_TOKEN not in result.stdout
    assert "discord-token" not in result.stdout and "dms-token" not in result.stdout


def test_a_channel_answering_500_is_reported_failed_with_its_fix_and_the_rest_delivered(tmp_path):
    with start_receivers() as fakes:
        fakes.discord.fail_when = lambda request: True  # Discord answers 500 to everything
        rendered = render_config(tmp_path / "am", fakes.render_env(), *FAST_TIMING)
        alertmanager = AlertmanagerServer(tmp_path / "run", rendered.config_text, rendered.files)
        try:
            result = run_doctor(f"--alertmanager={alertmanager.url}", *ONLY_ALERTMANAGER, "--notify")
            silences = requests.get(f"{alertmanager.url}/api/v2/silences", timeout=5).json()
            still_active = _test_alerts(alertmanager.url)
        finally:
            alertmanager.stop()
        slack_messages = [r for r in fakes.slack.received if ALERT in r.body.decode()]
    lines = result.stdout.splitlines()
    failed = next(l for l in lines if l.startswith("  ✘ discord: "))
    assert failed.startswith("  ✘ discord: not delivered through the slack integration: Alertmanager gave up after ")
    assert failed.endswith("the channel's server answered 5xx (serverError)"), failed
    assert lines[lines.index(failed) + 2].startswith("      fix:   check DISCORD_WEBHOOK_URL in .env")
    # Slack shares the "slack" integration with Discord: tested in its own round, delivered.
    for channel in ("slack", "telegram", "email", "deadmansswitch"):
        assert any(l.startswith(f"  ✔ {channel}: delivered") for l in lines), result.stdout
    assert slack_messages, "the Slack stand-in got the test message"
    assert result.returncode == 1
    # (No Prometheus feeds this Alertmanager, hence the missing Watchdog too.)
    assert result.stdout.rstrip().endswith(
        "Alerts can reach a person: NO. Failing: Alertmanager alerts from Prometheus, Notify discord.")
    # The failed test alert is muted (Alertmanager stops retrying it) and every test alert resolved.
    muted = [s for s in silences if s["createdBy"] == "stack doctor" and s["status"]["state"] == "active"]
    assert [{m["name"]: m["value"] for m in s["matchers"]}["channel"] for s in muted] == ["discord"]
    assert still_active == []
