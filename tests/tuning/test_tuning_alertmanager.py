"""The notification simulation agrees with the real Alertmanager, fed the same alerts.

Alertmanager 0.28 runs the config the render step makes (intervals compressed to seconds:
group_wait 1 s, group_interval 3 s, repeat_interval 7 s) with every channel pointed at local
stand-ins: Telegram and SMTP from tests/alertmanager/am_fakes.py; Discord's and Slack's
Slack-style webhooks and the SMS relay's webhook on ``RecordingWebhook`` (answers as the services
document, so each notification arrives once, with no retry). One scenario posts alerts to its
API on a 20-second timeline; ``tuning.am_simulation.simulate`` reads the same rendered file and
gets the same alerts at the times they were posted. Both must count the same notifications per
receiver: grouping (two liquidation alerts, one message), repeats (the drawdown every 9 s: the
repeat is checked on a 3 s tick against the last send), resolved notices (not by SMS), and
inhibition (the critical CPU alert silences the warning one until it resolves).

Event times sit at least 1 s away from the group ticks, so the real run has no races.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone

import pytest
import requests

from tests.alertmanager.am_fakes import start_receivers
from tests.alertmanager.am_stack import render_config
from tests.support.alertmanager import AlertmanagerServer
from tests.tuning.tuning_support import RecordingWebhook

pytestmark = pytest.mark.slow
from tuning.alert_state import Episode
from tuning.am_config import load_alertmanager_config
from tuning.am_simulation import simulate

TIMING = ("--group-wait", "1s", "--group-interval", "3s", "--repeat-interval", "7s")
OBSERVE_UNTIL = 20.5  # after the tick at 19 s, before the one at 22 s


def _labels(name: str, severity: str, category: str, **extra: str) -> dict[str, str]:
    return {"alertname": name, "severity": severity, "category": category, **extra}


DRAWDOWN = _labels("TraderDrawdownHigh", "critical", "risk", account="main")
LIQ_BTC = _labels("TraderLiquidationClose", "critical", "risk", account="main", exchange="binance", symbol="BTCUSDT")
LIQ_ETH = _labels("TraderLiquidationClose", "critical", "risk", account="main", exchange="binance", symbol="ETHUSDT")
DAILY = _labels("TraderDailyLossLimit", "critical", "risk", account="main")
CPU_CRIT = _labels("TraderHostCpuHigh", "critical", "system", instance="trader:8000")
CPU_WARN = _labels("TraderHostCpuHigh", "warning", "system", instance="trader:8000")

# (seconds after the start, "fire" | "resolve", labels)
SCENARIO = [
    (0.0, "fire", DRAWDOWN), (0.0, "fire", LIQ_BTC), (0.0, "fire", CPU_CRIT), (0.0, "fire", CPU_WARN),
    (0.3, "fire", LIQ_ETH),      # joins the liquidation group before its first flush (1 s)
    (0.5, "fire", DAILY),
    (5.0, "resolve", DAILY),     # told at its group's tick of 7.5 s (not by SMS)
    (8.5, "resolve", CPU_CRIT),  # the warning is muted until then; first told at 10 s
    (11.5, "resolve", LIQ_BTC),  # a resolved alert in a group that keeps firing
]


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def _annotations(labels: dict[str, str]) -> dict[str, str]:
    name = labels["alertname"]
    return {"summary": f"{name} rehearsal", "description": f"{name}: simulation agreement test",
            "runbook_url": f"docs/runbooks/{name}.md", "dashboard_url": "/d/trader-risk?viewPanel=1"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tuning-am")
    sms, discord, slack = RecordingWebhook(), RecordingWebhook(), RecordingWebhook()
    with start_receivers() as fakes:
        env = fakes.render_env(sms_relay_url=f"{sms.url}/alert", sms_relay_token="relay-token-for-tests")
        env["DISCORD_WEBHOOK_URL"] = f"{discord.url}/api/webhooks/42/discord-token"
        env["SLACK_WEBHOOK_URL"] = f"{slack.url}/services/T000/B000/slack-token"
        rendered = render_config(work / "am", env, *TIMING)
        server = AlertmanagerServer(work / "am-run", rendered.config_text, files=rendered.files)
        try:
            fired: dict[tuple, float] = {}
            episodes_at: list[tuple[dict, float, float | None]] = []
            start = time.time()
            for offset, action, labels in SCENARIO:
                # Pacing the scenario's timeline (the alerts must reach Alertmanager at these
                # instants), not waiting for a result: what arrives is compared below.
                delay = start + offset - time.time()
                if delay > 0:
                    time.sleep(delay)
                key = tuple(sorted(labels.items()))
                now = time.time()
                body = {"labels": labels, "annotations": _annotations(labels)}
                if action == "fire":
                    body["startsAt"] = _rfc3339(now)
                    fired[key] = now
                else:
                    body["startsAt"] = _rfc3339(fired[key])
                    body["endsAt"] = _rfc3339(now)
                requests.post(f"{server.url}/api/v2/alerts", json=[body], timeout=5).raise_for_status()
                if action == "resolve":
                    episodes_at.append((labels, fired.pop(key), now))
            episodes_at += [(dict(key), at, None) for key, at in fired.items()]
            delay = start + OBSERVE_UNTIL - time.time()
            if delay > 0:
                time.sleep(delay)  # the observation window's end (see OBSERVE_UNTIL)
            real = {"sms": len(sms.received), "telegram": len(fakes.telegram.received),
                    "discord": len(discord.received), "slack": len(slack.received),
                    "email": len(fakes.smtp.messages)}
            sms_payloads = sms.received
        finally:
            server.stop()
            for stand_in in (sms, discord, slack):
                stand_in.stop()
    config = load_alertmanager_config(rendered.path, sms_relay_url=f"{sms.url}/alert")
    episodes = [Episode(tuple(sorted({**labels}.items())), fired_at, fired_at, resolved_at, 1.0)
                for labels, fired_at, resolved_at in episodes_at]
    simulated = simulate(episodes, config, start - 1, start + OBSERVE_UNTIL)
    return real, sms_payloads, simulated, start, config


def test_counts_per_receiver_agree_with_alertmanager(run):
    real, _, simulated, _, _ = run
    assert dict(Counter(n.receiver for n in simulated)) == {k: v for k, v in real.items() if v}
    # and they are what the scenario means to exercise
    assert real["sms"] > 0 and real["telegram"] > real["sms"] - 1


def test_grouping_and_repeats_agree(run):
    real, sms_payloads, simulated, start, _ = run
    liquidation = [p for p in sms_payloads if p["groupLabels"].get("alertname") == "TraderLiquidationClose"]
    assert len(liquidation[0]["alerts"]) == 2  # one message for both symbols
    sim_liq = [n for n in simulated if n.channel == "sms" and dict(n.group).get("alertname") == "TraderLiquidationClose"]
    assert sim_liq[0].firing == 2
    # the drawdown page repeats on the first tick past repeat_interval: 1 s, 10 s, 19 s
    drawdown_real = [p for p in sms_payloads if p["groupLabels"].get("alertname") == "TraderDrawdownHigh"]
    drawdown_sim = [n for n in simulated if n.channel == "sms" and dict(n.group).get("alertname") == "TraderDrawdownHigh"]
    assert len(drawdown_real) == len(drawdown_sim) == 3
    assert [round(n.at - start) for n in drawdown_sim] == [1, 10, 19]


def test_inhibition_and_resolved_notices_agree(run):
    _, sms_payloads, simulated, start, config = run
    warning_route = next(r.id for r in config.route.routes if any(m.value == "warning" for m in r.matchers))
    warned = [n for n in simulated if n.route.startswith(warning_route + "/")]
    # the critical CPU alert mutes the warning one (same alertname, no account) until it resolves
    # at 8.5 s; the warning's group then tells Discord, Telegram and Slack at its 10 s tick
    assert warned and min(n.at for n in warned) - start > 8.5
    assert {n.channel for n in warned} == {"discord", "telegram", "slack"}
    assert not any(p["status"] == "resolved" for p in sms_payloads)  # SMS never says "resolved"
    assert any(n.resolved for n in simulated if n.channel == "telegram")
