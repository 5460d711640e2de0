"""Telegram and Discord, through python-telegram-bot and discord.py, to local stand-ins of their
APIs (tests/reports/standins.py cites the pages): the longest report stays within every limit,
the photo and the image arrive, and one failing channel never stops another."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from PIL import Image

from reports.journal import Journal
from reports.periods import period_containing
from reports.rendering import render_report
from reports.settings import load_settings
from reports.transports import Note, build_transports, send_isolated
from tests.alertmanager.am_fakes import telegram_visible_text
from tests.reports.journal_fixture import many_groups_journal, ts
from tests.reports.standins import DISCORD_WEBHOOK_TOKEN, TELEGRAM_TOKEN, DiscordStandIn, TelegramStandIn, embed_problems

ACCOUNT = "main-account-with-a-long-name"


@pytest.fixture(scope="module")
def long_report(tmp_path_factory):
    """40 strategies, 60 symbols, long names: far more than any channel holds."""
    state = tmp_path_factory.mktemp("long")
    many_groups_journal(state)
    return render_report(Journal(state), None, ACCOUNT, period_containing("day", ts("2026-05-04")), ts("2026-05-05", 1))


@pytest.fixture()
def standins():
    with TelegramStandIn() as telegram, DiscordStandIn() as discord:
        yield telegram, discord


def _send_report(env: dict, rendered) -> dict:
    transports = build_transports(load_settings(env))

    async def everything():
        return await asyncio.gather(*(
            send_isolated(t, "report", lambda x: x.send_report(rendered.text, rendered.png, rendered.email_html))
            for t in transports.values()))

    return {o.channel: o for o in asyncio.run(everything())}


def test_long_report_fits_telegram_and_discord(standins, long_report):
    telegram, discord = standins
    outcomes = _send_report({**telegram.env(), **discord.env()}, long_report)
    assert all(o.ok for o in outcomes.values()), outcomes
    assert not telegram.refused and not discord.refused

    photo = telegram.wait_for(lambda r: r.method == "sendPhoto")[0]
    assert photo.fields["chat_id"] == "-1001234567890" and photo.fields["parse_mode"] == "HTML"
    filename, content = photo.files["photo"]
    assert content == long_report.png and Image.open(io.BytesIO(content)).size == (1080, 1350)
    caption = telegram_visible_text(photo.fields["caption"])
    assert len(caption) <= 1024 and caption.startswith(f"Daily report · {ACCOUNT} · 2026-05-04 UTC")
    assert "Equity" in caption and "win rate" in caption
    details = telegram.wait_for(lambda r: r.method == "sendMessage")[0]
    text = telegram_visible_text(details.fields["text"])
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    # The long per-symbol list is cut, and the sections after it still get their place.
    assert "… and" in text and "Risk" in text and "Against BTCUSDT buy-and-hold" in text and "Sharpe 30 d" in text

    (webhook,) = discord.wait_for()
    assert webhook.query.get("wait") in ("1", "true")
    (embed,) = webhook.payload["embeds"]
    assert not embed_problems(embed)
    assert embed["image"]["url"] == "attachment://chart.png"
    assert list(webhook.files.values())[0] == ("chart.png", long_report.png)
    names = [f["name"] for f in embed["fields"]]
    assert names[:3] == ["Equity and PnL", "Returns", "Trades"] and "Risk" in names
    assert any("… and" in f["value"] for f in embed["fields"] if f["name"] == "By symbol")


def test_a_failing_channel_does_not_stop_the_other(standins, long_report, caplog):
    telegram, discord = standins
    env = {**telegram.env(), **discord.env()}
    env["DISCORD_WEBHOOK_URL"] = env["DISCORD_WEBHOOK_URL"].replace(DISCORD_WEBHOOK_TOKEN, "revoked-" + "y" * 60)
    env["TELEGRAM_BOT_TOKEN"] = TELEGRAM_TOKEN
    with caplog.at_level(logging.INFO):
        outcomes = _send_report(env, long_report)
    assert outcomes["telegram"].ok and not outcomes["discord"].ok
    assert "401" in outcomes["discord"].error or "Unauthorized" in outcomes["discord"].error
    assert telegram.wait_for(lambda r: r.method == "sendPhoto")
    logged = "\n".join(r.getMessage() + json.dumps({k: str(v) for k, v in vars(r).items()}) for r in caplog.records)
    assert "revoked-" not in logged and TELEGRAM_TOKEN not in logged, "a secret reached the logs"


def test_a_revoked_telegram_token_is_one_line_without_the_token(long_report, caplog):
    with TelegramStandIn(token="999:the-real-token") as telegram:
        env = {**telegram.env(), "TELEGRAM_BOT_TOKEN": "123:revoked-token"}
        with caplog.at_level(logging.DEBUG):
            outcomes = _send_report(env, long_report)
    assert not outcomes["telegram"].ok
    assert "revoked-token" not in outcomes["telegram"].error and "\n" not in outcomes["telegram"].error
    assert not any("revoked-token" in r.getMessage() or "revoked-token" in str(getattr(r, "reason", ""))
                   for r in caplog.records)


def test_notes_fit_and_arrive(standins):
    telegram, discord = standins
    transports = build_transports(load_settings({**telegram.env(), **discord.env()}))
    note = Note("300 trade events · main", tuple(f"Closed long SYMBOL{i:03d}USDT (momentum, main): +1.00 USDT net"
                                                 for i in range(300)), "2026-05-04 00:00 UTC to 01:00 UTC")

    async def both():
        return await asyncio.gather(*(send_isolated(t, "note", lambda x: x.send_note(note)) for t in transports.values()))

    assert all(o.ok for o in asyncio.run(both()))
    text = telegram_visible_text(telegram.wait_for(lambda r: r.method == "sendMessage")[0].fields["text"])
    assert len(text) <= 4096 and text.startswith("300 trade events · main") and "… and" in text
    (embed,) = discord.wait_for()[0].payload["embeds"]
    assert not embed_problems(embed) and "… and" in embed["description"]
