"""The chat service through Discord: discord.py on a gateway and REST stand-in (tests/chat/standins.py),
beside Telegram in the same process, the real Alertmanager, Prometheus and sim trader behind.
"""

from __future__ import annotations

import pytest
import requests

from tests.alertmanager.am_stack import alert
from tests.chat.chat_stack import ChatProcess, start_chat_stack
from tests.chat.standins import DISCORD_OPERATOR, DISCORD_STRANGER_CHANNEL, DISCORD_VIEWER, VIEWER
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with start_chat_stack(tmp_path_factory.mktemp("chat-discord"), with_discord=True) as running:
        yield running


def ask(stack, user: int, content: str, predicate, channel=None) -> dict:
    discord = stack.discord
    before = len(discord.sent)
    discord.say(user, content, **({"channel": channel} if channel else {}))
    return wait_until(lambda: next((m for m in discord.sent[before:] if predicate(m)), None), 30,
                      f"a Discord message answering {content!r}")


def test_commands_answer_in_discord_markdown_within_limits(stack):
    status = ask(stack, DISCORD_VIEWER, "!status", lambda m: "Status" in m.get("content", ""))
    assert status["content"].startswith("**Status**") and "Trader: up" in status["content"]
    assert "<b>" not in status["content"] and len(status["content"]) <= 2000
    help_text = ask(stack, DISCORD_VIEWER, "!help", lambda m: "Commands" in m.get("content", ""))["content"]
    assert "`!status" in help_text and "!pause" not in help_text
    usage = ask(stack, DISCORD_OPERATOR, "!silence", lambda m: "Usage" in m.get("content", ""))
    assert "silence <alert> <duration>" in usage["content"]
    assert not stack.discord.refused


def test_viewers_and_strange_channels_are_refused(stack):
    refusal = ask(stack, DISCORD_VIEWER, "!pause", lambda m: "Not allowed" in m.get("content", ""))
    assert "operators" in refusal["content"]
    stranger = ask(stack, DISCORD_OPERATOR, "!status", lambda m: m["channel_id"] == DISCORD_STRANGER_CHANNEL,
                   channel=DISCORD_STRANGER_CHANNEL)
    assert "configured chats" in stranger["content"]


def test_alert_buttons_silence_that_instance_from_discord(stack):
    name = "TraderDiscordSilenceProbe"
    stack.alertmanager.post_alerts([alert(name, "warning", account="main"), alert(name, "warning", account="other")])
    wait_until(lambda: len([a for a in stack.alertmanager.alerts() if a["labels"]["alertname"] == name]) == 2, 30,
               "both firing")
    before = len(stack.discord.sent)
    stack.discord.say(DISCORD_OPERATOR, "!alerts")
    wait_until(lambda: len([m for m in stack.discord.sent[before:] if name in m.get("content", "")]) == 2, 30,
               "one message per instance")
    main = next(m for m in stack.discord.sent[before:] if name in m.get("content", "") and "account=main" in m["content"])
    buttons = [c for row in main["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Silence 1h", "Silence until resolved"]
    assert all(b["type"] == 2 and len(b["custom_id"]) <= 100 for b in buttons)
    stack.discord.press(DISCORD_OPERATOR, main["id"], buttons[0]["custom_id"])
    callback = wait_until(lambda: stack.discord.callbacks, 30, "the interaction answered")[-1]
    assert callback["type"] == 7 and callback["data"]["content"].startswith("**Silenced**")
    assert callback["data"]["components"] == []  # the buttons are gone from the edited message
    silences = [s for s in requests.get(f"{stack.alertmanager.url}/api/v2/silences", timeout=10).json()
                if s["status"]["state"] == "active" and any(m["value"] == name for m in s["matchers"])]
    assert len(silences) == 1 and silences[0]["createdBy"] == f"chat:discord:{DISCORD_OPERATOR}"
    assert {m["name"]: m["value"] for m in silences[0]["matchers"]}["account"] == "main"
    # a viewer's press is refused, ephemerally, and silences nothing (a viewer not refused yet in
    # this module: a refusal is given once per window)
    other = next(m for m in stack.discord.sent[before:] if name in m.get("content", "") and "account=other" in m["content"])
    stack.discord.press(DISCORD_VIEWER + 1, other["id"], [c for row in other["components"] for c in row["components"]][0]["custom_id"])
    refusal = wait_until(lambda: stack.discord.callbacks[1:], 30, "the viewer's press answered")[-1]
    assert refusal["type"] == 4 and refusal["data"]["flags"] & 64 and "operators" in refusal["data"]["content"]
    assert len([s for s in requests.get(f"{stack.alertmanager.url}/api/v2/silences", timeout=10).json()
                if s["status"]["state"] == "active" and any(m["value"] == name for m in s["matchers"])]) == 1


def test_a_failing_discord_transport_does_not_stop_telegram(stack, tmp_path):
    # A second chat process whose Discord token the API refuses: Telegram still answers.
    env = stack.chat_env(DISCORD_BOT_TOKEN="wrong-token", DISCORD_CHANNEL_ID="1")
    second = ChatProcess(tmp_path / "second", env, stack.telegram)
    try:
        wait_until(lambda: "transport failed" in second.log_text(), 30, "the Discord transport's failure logged")
        answer = stack.ask(VIEWER, "/balance", lambda r: "Balance" in r.fields["text"])
        assert "main" in answer.fields["text"]
        assert "wrong-token" not in second.log_text()
    finally:
        second.stop()


def test_report_comes_as_an_embed_with_its_chart(stack):
    report = ask(stack, DISCORD_VIEWER, "!report", lambda m: m.get("embeds"))
    (embed,) = report["embeds"]
    assert embed["image"]["url"] == "attachment://chart.png" and "main" in embed["title"]
    assert report["files"] and len(embed.get("description", "")) <= 4096
    assert not [r for r in stack.discord.refused if r[0].startswith("create message")]
