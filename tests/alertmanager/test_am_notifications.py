"""Real Alertmanager 0.25 with the rendered config and templates, notifying local stand-ins for
Discord, Telegram, Slack, e-mail, Twilio (through the real SMS relay) and the dead man's switch.

One Alertmanager per test module keeps this under a minute: each test uses its own alert names
so groups never mix.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.alertmanager.am_fakes import (
    discord_embed, start_receivers, telegram_html_problems, telegram_visible_text,
)
from tests.alertmanager.am_stack import FAST_TIMING, alert, render_config, start_sms_relay

RELAY_TOKEN = "relay-test-token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Fakes + SMS relay + Alertmanager, shared by the tests of this module."""
    # The lead's start_alertmanager fixture is function-scoped; a module-scoped one is built here
    # from the same class so the seven tests share one Alertmanager (~3 s to start).
    from tests.support.alertmanager import AlertmanagerServer

    workdir = tmp_path_factory.mktemp("am-notify")
    with start_receivers() as fakes:
        relay = start_sms_relay(workdir, fakes.relay_env(RELAY_TOKEN))
        rendered = render_config(workdir / "config",
                                 fakes.render_env(sms_relay_url=f"{relay.url}/alert", sms_relay_token=RELAY_TOKEN),
                                 *FAST_TIMING)
        am = AlertmanagerServer(workdir / "am", rendered.config_text, files=rendered.files)
        try:
            yield fakes, am, relay
        finally:
            am.stop()
            relay.stop()


def _about(name: str):
    return lambda request: name in request.body.decode(errors="replace")


def test_critical_reaches_all_five_channels_with_content(stack):
    fakes, am, _ = stack
    am.post_alerts([alert("TraderDrawdownHigh", "critical", exchange="binance", symbol="BTCUSDT",
                          summary="Drawdown 12.4% of peak equity <10,240 USDT> & rising")])

    embed = discord_embed(fakes.discord.wait_for(_about("TraderDrawdownHigh"))[0])
    assert embed["title"].startswith("🔴 [FIRING:1] CRITICAL TraderDrawdownHigh · main")
    assert embed["color"] == "#E01E3C"  # critical red; warnings are amber (tested below)
    assert "Drawdown 12.4% of peak equity" in embed["description"]
    assert "[Runbook](https://runbooks.example/trader/docs/runbooks/TraderDrawdownHigh.md)" in embed["description"]
    assert "[Dashboard](http://grafana.test:3000/d/trader-risk?viewPanel=4)" in embed["description"]
    assert f"[Silence]({am.url}/#/silences/new?filter=%7B" in embed["description"]
    assert "binance BTCUSDT" in embed["description"]

    message = fakes.telegram.wait_for(_about("TraderDrawdownHigh"))[0].json
    assert message["parse_mode"] == "HTML" and message["chat_id"] == "-1001234567890"
    assert telegram_html_problems(message["text"]) == []
    assert "&lt;10,240 USDT&gt; &amp; rising" in message["text"]  # escaped, not a broken tag
    assert '<a href="https://runbooks.example/trader/docs/runbooks/TraderDrawdownHigh.md">Runbook</a>' in message["text"]

    slack = fakes.slack.wait_for(_about("TraderDrawdownHigh"))[0].json["attachments"][0]
    assert "&lt;10,240 USDT&gt; &amp; rising" in slack["text"]
    assert "<http://grafana.test:3000/d/trader-risk?viewPanel=4|Dashboard>" in slack["text"]

    mail = fakes.smtp.wait_for(lambda m: "TraderDrawdownHigh" in m["Subject"])[0]
    assert mail["Subject"] == "[FIRING:1] CRITICAL TraderDrawdownHigh · main"
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "&lt;10,240 USDT&gt; &amp; rising" in html and "<10,240 USDT> & rising" in text
    assert 'href="http://grafana.test:3000/d/trader-risk?viewPanel=4"' in html

    sms = fakes.twilio.wait_for(lambda r: "TraderDrawdownHigh" in r.form.get("Body", ""))[0].form
    assert sms["To"] == "+15550001111" and sms["From"] == "+15559990000"
    assert sms["Body"] == "CRITICAL TraderDrawdownHigh main: Drawdown 12.4% of peak equity <10,240 USDT> & rising"


def test_warning_and_info_reach_only_their_channels(stack):
    fakes, am, _ = stack
    am.post_alerts([alert("TraderSlippageHigh", "warning", "execution"),
                    alert("TraderMarketAnomalyRateHigh", "info", "market")])
    warning = discord_embed(fakes.discord.wait_for(_about("TraderSlippageHigh"))[0])
    assert warning["color"] == "#F2A900" and "WARNING" in warning["title"]
    fakes.telegram.wait_for(_about("TraderSlippageHigh"))
    fakes.slack.wait_for(_about("TraderSlippageHigh"))
    info = discord_embed(fakes.discord.wait_for(_about("TraderMarketAnomalyRateHigh"))[0])
    assert info["color"] == "#3AA3E3"
    # Discord got both, so Alertmanager has flushed these groups: the others would have by now.
    assert not [r for r in fakes.telegram.received if "TraderMarketAnomalyRateHigh" in r.body.decode()]
    assert not [r for r in fakes.slack.received if "TraderMarketAnomalyRateHigh" in r.body.decode()]
    assert not [m for m in fakes.smtp.messages if "TraderSlippageHigh" in m["Subject"]]
    assert not [r for r in fakes.twilio.received if "TraderSlippageHigh" in r.form.get("Body", "")]


def test_watchdog_pings_the_dead_mans_switch_only(stack):
    fakes, am, _ = stack
    am.post_alerts([{"labels": {"alertname": "Watchdog", "severity": "none", "category": "meta"},
                     "annotations": {"summary": "Alerting pipeline is alive"}}])
    ping = fakes.deadmansswitch.wait_for(_about("Watchdog"))[0]
    assert ping.path == "/ping/dms-token" and ping.json["status"] == "firing"
    assert not [r for r in fakes.discord.received if "Watchdog" in r.body.decode()]


def test_critical_inhibits_the_warning_of_the_same_alert_and_account(stack):
    fakes, am, _ = stack
    am.post_alerts([alert("TraderHostCpuHigh", "critical", "system")])
    fakes.telegram.wait_for(lambda r: "TraderHostCpuHigh" in r.body.decode() and "CRITICAL" in r.body.decode())
    am.post_alerts([alert("TraderHostCpuHigh", "warning", "system"),
                    alert("TraderHostCpuHigh", "warning", "system", account="other")])
    fakes.telegram.wait_for(lambda r: "TraderHostCpuHigh" in r.body.decode() and "other" in r.body.decode())
    warnings = [r for r in fakes.telegram.received
                if "TraderHostCpuHigh" in r.body.decode() and "WARNING" in r.body.decode()]
    assert all("other" in r.json["text"] for r in warnings), "the warning for account main was not inhibited"


def test_trader_down_silences_what_follows_from_it(stack):
    fakes, am, _ = stack
    # The order of a real outage: the target is down first, its consequences follow. (Posted in
    # one request, a consequence can reach the dispatcher before the inhibitor has seen its cause.)
    am.post_alerts([alert("TraderTargetDown", "critical", "meta", account="")])
    am.wait_until(lambda: any(a["labels"]["alertname"] == "TraderTargetDown" for a in am.alerts()), 10,
                  "Alertmanager to hold TraderTargetDown")
    am.post_alerts([alert("TraderFeedDown", "critical", "market", exchange="binance"),
                    alert("TraderMarketDataStale", "warning", "market", exchange="binance")])
    fakes.discord.wait_for(_about("TraderTargetDown"))
    fakes.twilio.wait_for(lambda r: "TraderTargetDown" in r.form.get("Body", ""))
    fakes.discord.wait_for(_about("TraderSlippageHigh"))  # an earlier group, to be sure flushes happened
    consequences = [r for r in fakes.discord.received + fakes.telegram.received + fakes.twilio.received
                    if b"TraderFeedDown" in r.body or b"TraderMarketDataStale" in r.body]
    # The trader is back: its own alerts are no longer held back (and the other tests see none).
    am.post_alerts([alert("TraderTargetDown", "critical", "meta", account="", resolved=True)])
    assert consequences == []
    fakes.discord.wait_for(_about("TraderFeedDown"))


def test_resolved_notices_go_everywhere_but_sms(stack):
    fakes, am, _ = stack
    am.post_alerts([alert("TraderDailyLossLimit", "critical")])
    fakes.twilio.wait_for(lambda r: "TraderDailyLossLimit" in r.form.get("Body", ""))
    am.post_alerts([alert("TraderDailyLossLimit", "critical", resolved=True)])
    assert "RESOLVED" in discord_embed(fakes.discord.wait_for(
        lambda r: "TraderDailyLossLimit" in r.body.decode() and "RESOLVED" in r.body.decode())[0])["title"]
    fakes.telegram.wait_for(lambda r: "TraderDailyLossLimit" in r.body.decode() and "RESOLVED" in r.body.decode())
    fakes.slack.wait_for(lambda r: "TraderDailyLossLimit" in r.body.decode() and "#2EB67D" in r.body.decode())
    fakes.smtp.wait_for(lambda m: m["Subject"] == "[RESOLVED] CRITICAL TraderDailyLossLimit · main")
    assert len([r for r in fakes.twilio.received if "TraderDailyLossLimit" in r.form.get("Body", "")]) == 1


def test_a_receiver_failing_for_a_while_still_gets_its_notification(stack):
    fakes, am, _ = stack
    fakes.telegram.fail_for(6)
    fakes.twilio.fail_for(6, status=503)
    am.post_alerts([alert("TraderLiquidationClose", "critical")])
    delivered = fakes.telegram.wait_for(_about("TraderLiquidationClose"), timeout=40)[0]
    assert [r for r in fakes.telegram.refused if b"TraderLiquidationClose" in r.body], "no failure was seen"
    assert delivered.at >= fakes.telegram.refused[0].at + 5
    # The relay answered 502 while Twilio failed; Alertmanager retried; one SMS went out.
    fakes.twilio.wait_for(lambda r: "TraderLiquidationClose" in r.form.get("Body", ""), timeout=40)
    metrics = requests.get(f"{stack[2].url}/metrics", timeout=5).text
    assert re.search(r'^sms_relay_messages_failed_total\{reason="http_5xx"\} [1-9]', metrics, re.M)
    assert len([r for r in fakes.twilio.received if "TraderLiquidationClose" in r.form.get("Body", "")]) == 1


def test_a_storm_of_100_alerts_stays_within_every_channel_limit(stack):
    fakes, am, _ = stack
    # Worst case on purpose: long labels and annotations full of characters that need escaping.
    name = "TraderPositionLiquidated"
    noisy = 'He said "<stop>" & it\'s over: +3.1% < 5% limit & mark price moving fast. ' * 8
    storm = [alert(name, "critical", "trading", account="account-" + "x" * 100, exchange="e" * 60,
                   symbol=f"SYM{i:03d}" + "S" * 60, strategy="t" * 60, summary=f"Position {i} liquidated: {noisy}",
                   description=noisy * 3, runbook_url="docs/runbooks/" + "R" * 300,
                   dashboard_url="/d/trader-risk?viewPanel=4&x=" + "D" * 300) for i in range(100)]
    am.post_alerts(storm)
    fakes.discord.wait_for(lambda r: name in r.body.decode() and "[FIRING:100]" in r.body.decode())
    fakes.telegram.wait_for(lambda r: name in r.body.decode() and "95 more firing" in r.json["text"])
    mail = fakes.smtp.wait_for(lambda m: name in m["Subject"] and "[FIRING:100]" in m["Subject"])[0]
    # 100 SMS would be useless at 3 a.m.: five, then one "+95 more" (Alertmanager may first
    # send the part of the storm that arrived within group_wait: those five are not re-sent).
    fakes.twilio.wait_for(lambda r: r.form.get("Body", "").startswith(f"+95 more firing: {name}"))
    # Half of it resolves: the next messages list firing and resolved alerts together.
    am.post_alerts([{**a, "endsAt": alert(name, "critical", resolved=True)["endsAt"]} for a in storm[:50]])
    fakes.discord.wait_for(lambda r: name in r.body.decode() and "[FIRING:50]" in r.body.decode())
    fakes.telegram.wait_for(lambda r: name in r.body.decode() and "Resolved: 50" in r.json["text"])

    embeds = [discord_embed(r) for r in fakes.discord.received if name in r.body.decode()]
    assert len(embeds) >= 2
    for embed in embeds:
        assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
        assert sum(len(embed[k]) for k in ("title", "description", "footer")) <= 6000
    assert any("…and **94 more** firing." in e["description"] for e in embeds)

    texts = [r.json["text"] for r in fakes.telegram.received if name in r.body.decode()]
    assert len(texts) >= 2
    for text in texts:
        assert len(text) <= 4096 and telegram_html_problems(text) == []
    assert any("…and 95 more firing." in telegram_visible_text(t) for t in texts)
    assert not [r for r in fakes.telegram.refused if name in r.body.decode()], "Telegram refused a message"

    for request in fakes.slack.received:
        if name in request.body.decode():
            assert len(request.json["attachments"][0]["text"]) <= 4096

    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    assert "...and 70 more firing" in mail.get_body(("plain",)).get_content()

    bodies = [r.form["Body"] for r in fakes.twilio.received if name in r.form.get("Body", "")]
    assert len([b for b in bodies if not b.startswith("+")]) == 5
    assert all(len(b) <= 160 for b in bodies)
