"""The chat service end to end through Telegram: python-telegram-bot polling a Bot API stand-in,
the real Alertmanager, Prometheus and sim trader behind it (tests/chat/chat_stack.py).

One stack for the module (starting it takes ~10 s); every case uses its own alert names.
"""

from __future__ import annotations

import sqlite3

import pytest
import requests

from tests.alertmanager.am_fakes import telegram_html_problems, telegram_visible_text
from tests.alertmanager.am_stack import alert
from tests.chat.chat_stack import start_chat_stack
from tests.chat.standins import OPERATOR, STRANGER_CHAT, VIEWER
from tests.exporters.scrape_parsing import samples, value
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with start_chat_stack(tmp_path_factory.mktemp("chat-stack")) as running:
        yield running


def text_of(item) -> str:
    return telegram_visible_text(item.fields["text"])


def within_limits(item) -> None:
    assert not telegram_html_problems(item.fields["text"]), item.fields["text"][:300]
    assert len(text_of(item).encode("utf-16-le")) // 2 <= 4096


def _keep_firing(stack, alerts: list[dict]) -> None:
    stack.alertmanager.post_alerts(alerts)


def _silences(stack) -> list[dict]:
    return requests.get(f"{stack.alertmanager.url}/api/v2/silences", timeout=10).json()


def test_status_balance_pnl_positions_trades_answer_from_the_stack(stack):
    status = stack.ask(VIEWER, "/status", lambda r: "Status" in text_of(r))
    within_limits(status)
    shown = text_of(status)
    assert "Trader: up" in shown and "binance up" in shown and "main: equity" in shown
    for command, expect in (("/balance", "wallet"), ("/pnl", "today"), ("/positions", "Positions of main"),
                            ("/trades 3", "Last trades of main"), ("/help", "/status")):
        answer = stack.ask(VIEWER, command, lambda r, e=expect: e in text_of(r))
        within_limits(answer)
    # the equity shown is the one Prometheus holds (the dashboards' series), formatted for a phone
    result = requests.get(f"{stack.prometheus.url}/api/v1/query", params={"query": "trader_equity_usdt"},
                          timeout=5).json()["data"]["result"]
    assert result and "," in shown.split("equity ", 1)[1].split(" USDT", 1)[0]  # 10,000.00 style
    # a viewer does not see the operators' commands
    help_text = text_of(stack.ask(VIEWER, "/help", lambda r: "Commands" in text_of(r)))
    assert "/pause" not in help_text and "operators only" in help_text


def test_malformed_commands_get_their_usage(stack):
    answer = stack.ask(OPERATOR, "/silence onlyonearg", lambda r: "Usage" in text_of(r))
    assert "silence &lt;alert&gt;" in answer.fields["text"] or "silence <alert>" in text_of(answer)
    assert "Usage" in text_of(stack.ask(OPERATOR, "/trades 0", lambda r: "Usage" in text_of(r)))
    assert "No command" in text_of(stack.ask(VIEWER, "/frobnicate", lambda r: "Unknown" in text_of(r)))


def test_unauthorised_users_and_chats_are_refused_once_per_window(stack):
    before = len(stack.telegram.sent())
    refusal = stack.ask(VIEWER, "/pause", lambda r: "Not allowed" in text_of(r))
    assert "operators" in text_of(refusal)
    for _ in range(5):
        stack.telegram.say(VIEWER, "/closeall")
    stack.telegram.say(VIEWER, "/status")  # a reading command is still answered after the flood
    wait_until(lambda: any("Status" in text_of(r) for r in stack.telegram.sent()[before + 1:]), 30, "the status")
    refusals = [r for r in stack.telegram.sent()[before:] if "Not allowed" in text_of(r)]
    assert len(refusals) == 1  # one polite refusal, the rest of the flood unanswered
    # a chat not on the allow list: one refusal, nothing else
    stack.telegram.say(OPERATOR, "/status", chat=STRANGER_CHAT)
    wait_until(lambda: any(r.fields["chat_id"] == str(STRANGER_CHAT) for r in stack.telegram.sent()), 30,
               "the stranger chat's refusal")
    to_stranger = [r for r in stack.telegram.sent() if r.fields["chat_id"] == str(STRANGER_CHAT)]
    assert len(to_stranger) == 1 and "configured chats" in text_of(to_stranger[0])
    assert stack.chat.log_text().count('"command refused"') >= 2
    # nothing changed in the trader
    accounts = requests.get(f"{stack.trader.base_url}/control/v1/accounts", timeout=10,
                            headers={"Authorization": f"Bearer {stack.token_file.read_text()}"}).json()
    assert accounts["accounts"][0]["paused"] is False


def _notices(fakes, name: str, account: str, status: str, since: int = 0) -> list:
    """Alertmanager's Telegram notifications of the ``name`` group of ``account`` ("FIRING" or "RESOLVED")."""
    out = []
    for request in fakes.telegram.requests[since:]:
        text = request.json.get("text", "")
        if f"<b>{name}</b>" in text and f"account <code>{account}</code>" in text and f"<b>{status}" in text:
            out.append(request)
    return out


def test_a_silence_from_chat_stops_that_alerts_notifications_and_only_that_alerts(stack):
    name = "TraderChatSilenceProbe"
    _keep_firing(stack, [alert(name, "warning", account="main"), alert(name, "warning", account="other")])
    wait_until(lambda: _notices(stack.fakes, name, "main", "FIRING") and _notices(stack.fakes, name, "other", "FIRING"),
               30, "both instances notified by Alertmanager")
    # the operator lists the alerts and presses "Silence 1h" on the main instance's message
    before = len(stack.telegram.sent())
    stack.telegram.say(OPERATOR, "/alerts")
    wait_until(lambda: len([r for r in stack.telegram.sent()[before:] if name in text_of(r)]) >= 2, 30,
               "one message per instance")
    messages = [r for r in stack.telegram.sent()[before:] if name in text_of(r)]
    for message in messages:
        within_limits(message)
        assert [label for label, _ in stack.telegram.buttons(message)] == ["Silence 1h", "Silence until resolved"]
    main_message = next(r for r in messages if "account=main" in text_of(r))
    main_id = next(mid for mid, m in stack.telegram.messages.items()
                   if name in m.get("text", "") and "account=main" in m.get("text", ""))
    stack.telegram.press(OPERATOR, main_id, dict(stack.telegram.buttons(main_message))["Silence 1h"])
    wait_until(lambda: stack.telegram.sent("answerCallbackQuery"), 30, "the button press answered")
    edited = wait_until(lambda: stack.telegram.sent("editMessageText"), 30, "the alert's message edited")[-1]
    assert "Silenced" in text_of(edited) and "until" in text_of(edited) and "account=main" in text_of(edited)
    silences = [s for s in _silences(stack) if s["status"]["state"] == "active"
                and any(m["name"] == "alertname" and m["value"] == name for m in s["matchers"])]
    assert len(silences) == 1
    matchers = {m["name"]: m["value"] for m in silences[0]["matchers"]}
    # exactly that instance's labels, no regex: the "other" instance is not matched
    assert matchers == {"alertname": name, "severity": "warning", "category": "risk", "account": "main"}
    assert all(not m["isRegex"] and m["isEqual"] for m in silences[0]["matchers"])
    assert silences[0]["createdBy"] == f"chat:telegram:{OPERATOR}"
    states = {a["labels"]["account"]: a["status"]["state"] for a in stack.alertmanager.alerts()
              if a["labels"]["alertname"] == name}
    assert states == {"main": "suppressed", "other": "active"}
    # Both resolve, main first: the other's resolved notice comes; main's, silenced, never does
    # (the groups share their timing, so main's would have come first).
    sent_before = len(stack.fakes.telegram.requests)
    _keep_firing(stack, [alert(name, "warning", account="main", resolved=True)])
    _keep_firing(stack, [alert(name, "warning", account="other", resolved=True)])
    wait_until(lambda: _notices(stack.fakes, name, "other", "RESOLVED", sent_before), 30,
               "the other instance's resolved notice")
    assert not _notices(stack.fakes, name, "main", "RESOLVED", sent_before)
    assert not _notices(stack.fakes, name, "main", "FIRING", sent_before)


def _silence_reads(stack) -> float:
    """How many silence queries Alertmanager has answered (its own counter): the watcher's reads
    (every 1 s) move it, so a rise of several means the watcher ran its rounds."""
    text = requests.get(f"{stack.alertmanager.url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("alertmanager_silences_queries_total"))


def test_ack_silence_disappears_after_the_alert_resolves(stack):
    name = "TraderChatAckProbe"
    _keep_firing(stack, [alert(name, "warning", account="main")])
    wait_until(lambda: [a for a in stack.alertmanager.alerts() if a["labels"]["alertname"] == name], 30, "firing")
    answer = stack.ask(OPERATOR, f"/ack {name}", lambda r: "Acknowledged" in text_of(r))
    within_limits(answer)

    def ack_silences(state: str):
        return [s for s in _silences(stack) if s["status"]["state"] == state
                and any(m["value"] == name for m in s["matchers"])]

    active = ack_silences("active")
    assert len(active) == 1 and active[0]["createdBy"] == f"chat-ack:telegram:{OPERATOR}"
    # while it fires the ack holds: the watcher (every 1 s) leaves it, the alert stays suppressed
    wait_until(lambda: [a for a in stack.alertmanager.alerts() if a["labels"]["alertname"] == name
                        and a["status"]["state"] == "suppressed"], 15, "the alert suppressed by the ack")
    reads = _silence_reads(stack)
    wait_until(lambda: _silence_reads(stack) >= reads + 6, 15, "several more watcher rounds")
    assert ack_silences("active")
    _keep_firing(stack, [alert(name, "warning", account="main", resolved=True)])
    wait_until(lambda: ack_silences("expired"), 30, "the ack's silence expired once the alert resolved")
    assert not ack_silences("active")
    assert "ack removed: its alert resolved" in stack.chat.log_text()


def test_pause_from_chat_stops_new_entries_in_the_real_trader_and_resume_trades_again(stack):
    def scraped(name: str, **labels) -> float:
        return value(samples(stack.trader.scrape()), name, **labels)

    wait_until(lambda: scraped("trader_open_positions", account="main") >= 1, 60, "the trader trading")
    answer = stack.ask(OPERATOR, "/pause", lambda r: "paused" in text_of(r))
    assert "no new entries" in text_of(answer)
    wait_until(lambda: scraped("trader_open_positions", account="main") == 0, 30, "open positions closed by exits")
    refused = scraped("trader_risk_refusals_total", account="main", reason="paused")
    wait_until(lambda: scraped("trader_risk_refusals_total", account="main", reason="paused") >= refused + 2, 30,
               "entries refused while paused")
    assert scraped("trader_open_positions", account="main") == 0
    status = text_of(stack.ask(VIEWER, "/status", lambda r: "Status" in text_of(r)))
    assert f"paused by chat:telegram:{OPERATOR}" in status
    resumed = stack.ask(OPERATOR, "/resume", lambda r: "resumed" in text_of(r))
    assert "trading again" in text_of(resumed)
    wait_until(lambda: scraped("trader_open_positions", account="main") >= 1, 60, "a new entry after resume")
    # the trader logged and journaled who asked
    assert f'"actor": "chat:telegram:{OPERATOR}"' in "\n".join(stack.trader.log_lines())

    def journaled() -> set:
        conn = sqlite3.connect(f"file:{stack.workdir / 'trader' / 'state' / 'journal.sqlite3'}?mode=ro", uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT action FROM actions WHERE actor = ?",
                                               (f"chat:telegram:{OPERATOR}",))}
        finally:
            conn.close()

    wait_until(lambda: {"pause", "resume"} <= journaled(), 10, "pause and resume in the journal, with who asked")


def test_close_from_chat_and_replies_within_limits_when_long(stack):
    def positions():
        return requests.get(f"{stack.trader.base_url}/control/v1/accounts/main/positions", timeout=10,
                            headers={"Authorization": f"Bearer {stack.token_file.read_text()}"}).json()["positions"]

    held = wait_until(positions, 60, "an open position")
    symbol = held[0]["symbol"]
    answer = stack.ask(OPERATOR, f"/close {symbol}", lambda r: "Close" in text_of(r))
    assert symbol in text_of(answer) or "no open" in text_of(answer)  # a 2-s hold may have ended it first
    nothing = stack.ask(OPERATOR, "/close NOSUCHUSDT", lambda r: "nothing done" in text_of(r))
    assert "no open NOSUCHUSDT position" in text_of(nothing)
    # many alerts: ten with buttons, the rest in one list, every message within Telegram's limits
    many = [alert(f"TraderChatFlood{i:02d}", "info", account="main", summary="x" * 300) for i in range(30)]
    _keep_firing(stack, many)
    wait_until(lambda: len([a for a in stack.alertmanager.alerts() if "Flood" in a["labels"]["alertname"]]) == 30,
               30, "30 alerts in Alertmanager")
    before = len(stack.telegram.sent())
    stack.telegram.say(VIEWER, "/alerts")
    wait_until(lambda: any("More alerts" in text_of(r) for r in stack.telegram.sent()[before:]), 30, "the overflow")
    for message in stack.telegram.sent()[before:]:
        within_limits(message)
    assert not stack.telegram.refused
    # a dependency down: one line naming it
    stack.alertmanager.stop()
    down = stack.ask(VIEWER, "/alerts", lambda r: "Unavailable" in text_of(r))
    assert text_of(down).splitlines()[1] .startswith("Alertmanager is unreachable")


def test_report_on_demand_comes_as_a_chart_and_its_figures(stack):
    # the journal holds trades within seconds (2-s holds); the report is the real reports service's
    before = len(stack.telegram.received)
    stack.telegram.say(VIEWER, "/report day")
    photo = wait_until(lambda: [r for r in stack.telegram.received[before:] if r.method == "sendPhoto"], 60,
                       "the report's chart")[0]
    name, png = photo.files["photo"]
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert len(telegram_visible_text(photo.fields["caption"])) <= 1024
    details = wait_until(lambda: [r for r in stack.telegram.sent()[len(stack.telegram.sent()) - 5:]
                                  if "main" in text_of(r) and "Equity" in text_of(r)], 30, "the report's figures")
    for item in details:
        within_limits(item)
    assert "Unavailable" not in text_of(stack.ask(VIEWER, "/report week", lambda r: "main" in text_of(r)
                                                   or "Unavailable" in text_of(r)))


def test_tokens_never_in_logs_or_replies(stack):
    log = stack.chat.log_text()
    control_token = stack.token_file.read_text()
    assert stack.telegram.token not in log and control_token not in log
    for item in stack.telegram.received:
        assert stack.telegram.token not in str(item.fields) and control_token not in str(item.fields)
