"""The whole alert chain with real binaries, as a user meets it at 3 a.m.

The trader runs the crash drill on the sim feed; a real Prometheus scrapes it with our rules and
sends to a real Alertmanager holding the config ``python -m alertmanager.render`` wrote, with
the committed intervals; the real SMS relay forwards to a stand-in Twilio. Local HTTP and SMTP
servers stand in for Discord, Telegram and the mail server.

Asserted: each of the four channels receives the critical drawdown alert with its content; the
seconds from the drill's start to each delivery are printed; Telegram answers 500 for a minute
from its first attempt and its notification still arrives afterwards; a storm of 100 alerts
leaves every Discord and Telegram message within the services' limits.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest

from tests.alertmanager.am_fakes import discord_embed, start_receivers, telegram_html_problems
from tests.alertmanager.am_stack import alert, render_config, start_sms_relay
from tests.support.prometheus import stack_config

pytestmark = pytest.mark.slow

RELAY_TOKEN = "e2e-relay-token"
ALERT = "TraderDrawdownHigh"
DRILL_DELAY_SECONDS = 20  # a healthy start, so the alert is caused by the drill and nothing else
TELEGRAM_OUTAGE_SECONDS = 60
DELIVERY_TIMEOUT_SECONDS = 240


def _drill_started_at(trader) -> float:
    """The epoch second of the trader's own "drill started" log line."""
    for line in trader.log_lines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("msg") == "drill started":
                return datetime.fromisoformat(record["ts"]).timestamp()
    raise AssertionError("the trader logged no 'drill started' line")


def _mentions(name: str):
    return lambda request: name in request.body.decode(errors="replace")


def test_crash_drill_reaches_every_channel(start_trader, start_prometheus, start_alertmanager, tmp_path) -> None:
    with start_receivers() as fakes:
        # Telegram fails every request during the minute after its first attempt.
        first_attempt: list[float] = []

        def telegram_down(request) -> bool:
            if not first_attempt:
                first_attempt.append(request.at)
            return request.at < first_attempt[0] + TELEGRAM_OUTAGE_SECONDS

        fakes.telegram.fail_when = telegram_down

        relay = start_sms_relay(tmp_path / "relay", fakes.relay_env(RELAY_TOKEN))
        try:
            rendered = render_config(tmp_path / "am-config",
                                     fakes.render_env(sms_relay_url=f"{relay.url}/alert", sms_relay_token=RELAY_TOKEN))
            alertmanager = start_alertmanager(rendered.config_text, files=rendered.files)
            trader = start_trader("--feed", "sim", "--drill", "crash", "--drill-delay", str(DRILL_DELAY_SECONDS),
                                  "--seed", "7")
            start_prometheus(*stack_config({"trader": f"127.0.0.1:{trader.port}"},
                                           alertmanager=alertmanager.url.removeprefix("http://")))

            discord = fakes.discord.wait_for(_mentions(ALERT), timeout=DELIVERY_TIMEOUT_SECONDS)[0]
            sms = fakes.twilio.wait_for(lambda r: ALERT in r.form.get("Body", ""), timeout=60)[0]
            mail = fakes.smtp.wait_for(lambda m: ALERT in m["Subject"], timeout=60)[0]
            telegram = fakes.telegram.wait_for(_mentions(ALERT), timeout=TELEGRAM_OUTAGE_SECONDS + 90)[0]
            drill_start = _drill_started_at(trader)

            delivered_at = {"discord": discord.at, "sms": sms.at, "telegram": telegram.at,
                            "email": parsedate_to_datetime(mail["Date"]).timestamp()}
            for channel, at in sorted(delivered_at.items(), key=lambda item: item[1]):
                print(f"{ALERT} on {channel}: {at - drill_start:5.1f} s after the drill started")

            embed = discord_embed(discord)
            assert "CRITICAL" in embed["title"] and ALERT in embed["title"] and "· trader · main" in embed["title"]
            assert embed["color"] == "#E01E3C"
            assert "main: drawdown" in embed["description"] and "% above the 10% limit" in embed["description"]
            assert "docs/runbooks/TraderDrawdownHigh.md" in embed["description"]
            assert "http://grafana.test:3000/d/trader-risk?viewPanel=1" in embed["description"]

            body = sms.form["Body"]
            assert body.startswith(f"CRITICAL {ALERT} trader main: main: drawdown") and len(body) <= 160
            assert sms.form["To"] == "+15550001111"

            assert mail["Subject"].startswith("[FIRING:") and f"CRITICAL {ALERT}" in mail["Subject"]
            assert "drawdown" in mail.get_body(("plain",)).get_content()
            assert "viewPanel=1" in mail.get_body(("html",)).get_content()

            refused = [r for r in fakes.telegram.refused if ALERT in r.body.decode(errors="replace")]
            assert refused, "Telegram never answered 500: the outage was not exercised"
            assert telegram.at >= first_attempt[0] + TELEGRAM_OUTAGE_SECONDS
            text = telegram.json["text"]
            assert ALERT in text and "drawdown" in text
            assert telegram_html_problems(text) == [] and len(text) <= 4096

            _storm_stays_within_limits(fakes, alertmanager)
        finally:
            relay.stop()


def _storm_stays_within_limits(fakes, alertmanager) -> None:
    name = "TraderPositionLiquidated"
    # An account of its own: the drill's account may already have a group for this alert, whose
    # next update would wait for its group_interval instead of this storm's group_wait.
    # Starting now, like a real burst: Alertmanager flushes a new group at once when its alerts
    # are older than group_wait, which would split the storm across two group intervals.
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    storm = [{**alert(name, "critical", "trading", account="storm", symbol=f"SYM{i:03d}USDT",
                      summary=f"storm: position SYM{i:03d}USDT liquidated at a loss of {i * 13.7:.2f} USDT"),
              "startsAt": now}
             for i in range(100)]
    alertmanager.post_alerts(storm)
    try:
        fakes.discord.wait_for(lambda r: name in r.body.decode() and "[FIRING:100]" in r.body.decode(), timeout=60)
        fakes.telegram.wait_for(lambda r: name in r.body.decode() and "more firing" in r.json["text"], timeout=60)
    except AssertionError as error:
        states = {}
        for a in alertmanager.alerts():
            if a["labels"]["alertname"] == name:
                key = (a["status"]["state"], tuple(a["status"]["inhibitedBy"]), tuple(a["status"]["silencedBy"]))
                states[key] = states.get(key, 0) + 1
        titles = [discord_embed(r)["title"] for r in fakes.discord.received]
        raise AssertionError(f"{error}; Alertmanager holds the storm as {states}; Discord got {titles}") from None

    for request in fakes.discord.received:
        embed = discord_embed(request)
        assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
        assert sum(len(embed[key]) for key in ("title", "description", "footer")) <= 6000
    for request in fakes.telegram.received:
        text = request.json["text"]
        assert len(text) <= 4096 and telegram_html_problems(text) == []
