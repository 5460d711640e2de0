"""Trade notifications from the journal, batched per channel window, remembered across restarts."""

from __future__ import annotations

import asyncio

import pytest

from reports.clock import FixedClock
from reports.journal import Journal
from reports.notifications import TradeNotifier
from reports.settings import load_settings
from reports.state import State
from reports.transports import build_transports
from tests.alertmanager.am_fakes import telegram_visible_text
from tests.reports.journal_fixture import create_journal, ts
from tests.reports.standins import DiscordStandIn, TelegramStandIn

WINDOW = 60.0


@pytest.fixture()
def world(tmp_path):
    writer = create_journal(tmp_path / "journal")
    writer.account("main", created=ts("2026-05-04"))
    writer.trade("main", "BTCUSDT", "momentum", 5.0, 60.0, ts("2026-05-04", 1))  # history: never notified
    with TelegramStandIn() as telegram, DiscordStandIn() as discord:
        yield tmp_path, writer, telegram, discord
    writer.close()


def _notifier(tmp_path, telegram, discord, clock, channels=("telegram", "discord")) -> TradeNotifier:
    settings = load_settings({**telegram.env(), **discord.env(), "REPORTS_TRADE_NOTIFICATIONS": ",".join(channels)})
    return TradeNotifier(Journal(tmp_path / "journal"), State(tmp_path / "reports-data", clock.now()),
                         build_transports(settings), settings.trade_channels, WINDOW, clock)


def _texts(telegram: TelegramStandIn) -> list[str]:
    return [telegram_visible_text(r.fields["text"]) for r in telegram.received if r.method == "sendMessage"]


def test_one_event_in_full_then_many_in_one_summary_per_window(world):
    tmp_path, writer, telegram, discord = world
    clock = FixedClock(ts("2026-05-04", 2))
    notifier = _notifier(tmp_path, telegram, discord, clock)
    assert asyncio.run(notifier.tick()) == []  # the first start begins at the journal's present

    writer.open_position("main", "ETHUSDT", "mean_reversion", -0.5, ts("2026-05-04", 2), entry=3_000.0)
    clock.advance(5)
    assert [o.ok for o in asyncio.run(notifier.tick())] == [True, True]
    (first,) = _texts(telegram)
    assert first.startswith("Position opened · ETHUSDT · main")
    assert "Opened short 0.5 ETHUSDT (mean_reversion, main) at 3,000.00, 3×" in first

    # Twelve round trips within the window: nothing until it has passed, then one summary.
    for i in range(12):
        writer.trade("main", "BTCUSDT", "momentum", 10.0 if i % 3 else -4.0, 90.0 * (i + 1), clock.now() + i)
    writer.close_position("main", "ETHUSDT")
    for _ in range(5):
        clock.advance(10)
        assert asyncio.run(notifier.tick()) == []  # inside the window: queued, not sent
    # Restart before the window ends: the queue and the cursor survive.
    clock.advance(11)
    notifier = _notifier(tmp_path, telegram, discord, clock)
    assert [o.ok for o in asyncio.run(notifier.tick())] == [True, True]
    texts = _texts(telegram)
    assert len(texts) == 2
    summary = texts[1].splitlines()
    assert summary[0] == "12 trade events · main"
    assert summary[1] == "0 opened · 12 closed"
    assert summary[2] == "Closed net +64.00 USDT · 8 won · 4 lost"  # 8 x 10 - 4 x 4
    assert sum(line.startswith("Closed long BTCUSDT (momentum, main)") for line in summary) == 12
    assert "+10.00 USDT net after 3 min (signal)" in texts[1]
    discord_embeds = [r.payload["embeds"][0] for r in discord.received]
    assert [e["title"] for e in discord_embeds] == ["Position opened · ETHUSDT · main", "12 trade events · main"]
    # Nothing again: every event went out exactly once.
    clock.advance(WINDOW + 1)
    assert asyncio.run(_notifier(tmp_path, telegram, discord, clock).tick()) == []


def test_off_by_default_and_a_failed_channel_keeps_its_queue(world):
    tmp_path, writer, telegram, discord = world
    settings = load_settings({**telegram.env(), **discord.env()})
    assert settings.trade_channels == ()  # opt-in only
    clock = FixedClock(ts("2026-05-04", 2))
    notifier = _notifier(tmp_path, telegram, discord, clock, channels=("discord",))
    asyncio.run(notifier.tick())
    discord.fail_next, discord.fail_status = 1, 404
    writer.trade("main", "SOLUSDT", "momentum", -3.0, 30.0, clock.now())
    clock.advance(5)
    assert [o.ok for o in asyncio.run(notifier.tick())] == [False]
    clock.advance(WINDOW + 1)  # backoff: one window
    assert [o.ok for o in asyncio.run(notifier.tick())] == [True]
    (received,) = discord.received
    assert received.payload["embeds"][0]["title"] == "Position closed · SOLUSDT · main"
    assert not telegram.received  # not opted in
