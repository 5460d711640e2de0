"""Scheduling on a simulated clock, across restarts (a restart is a new service instance on the
same state file): every report exactly once per account, period and channel, none missed, the
late ones marked, a failing channel retried alone."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from reports.clock import FixedClock
from reports.journal import Journal
from reports.scheduler import GIVE_UP_AFTER, SEND_DELAY, ReportScheduler, retry_delay
from reports.settings import load_settings
from reports.state import State
from reports.transports import build_transports
from tests.alertmanager.am_fakes import telegram_visible_text
from tests.reports.journal_fixture import create_journal, fixed_journal, ts
from tests.reports.standins import DiscordStandIn, TelegramStandIn


@pytest.fixture()
def world(tmp_path):
    fixed_journal(tmp_path / "journal")
    with TelegramStandIn() as telegram, DiscordStandIn() as discord:
        yield tmp_path, telegram, discord


def _service(tmp_path, telegram, discord, clock: FixedClock) -> ReportScheduler:
    """What ``python -m reports`` builds at start, on the state left by the previous run."""
    settings = load_settings({**telegram.env(), **discord.env()})
    state = State(tmp_path / "reports-data", clock.now())
    return ReportScheduler(Journal(tmp_path / "journal"), state, build_transports(settings), settings.report_channels,
                           settings.periods, None, clock)


def _telegram_titles(telegram: TelegramStandIn) -> list[str]:
    return [telegram_visible_text(r.fields["caption"]).splitlines()[0] for r in telegram.received if r.method == "sendPhoto"]


def _discord_titles(discord: DiscordStandIn) -> list[str]:
    return [r.payload["embeds"][0]["title"] for r in discord.received]


def _tick(scheduler: ReportScheduler) -> list:
    return asyncio.run(scheduler.tick())


def test_one_report_per_period_and_channel_across_restarts_with_no_gap(world):
    tmp_path, telegram, discord = world
    clock = FixedClock(ts("2026-05-04", 10))  # the service's first start: reports from the periods ending after it
    scheduler = _service(tmp_path, telegram, discord, clock)
    assert _tick(scheduler) == []  # 05-03 ended before the first start: not due

    clock.at = ts("2026-05-05") + SEND_DELAY - 1
    assert _tick(scheduler) == []  # not yet: the trader closes its day first
    clock.at = ts("2026-05-05") + SEND_DELAY + 1
    assert len(_tick(scheduler)) == 4  # 05-04 for main and other, on both channels
    assert _tick(scheduler) == []  # the same tick again: nothing twice

    # Restart right away: nothing again.
    scheduler = _service(tmp_path, telegram, discord, FixedClock(ts("2026-05-05", 0.2)))
    assert _tick(scheduler) == []

    # Down from 05-05 00:12 to 05-08 09:00, Discord failing when it comes back (the webhook is
    # missing: 404 Unknown Webhook, which discord.py does not retry itself, unlike a 5xx).
    discord.fail_next, discord.fail_status = 100, 404
    clock = FixedClock(ts("2026-05-08", 9))
    scheduler = _service(tmp_path, telegram, discord, clock)
    outcomes = _tick(scheduler)
    assert Counter((o.channel, o.ok) for o in outcomes) == {("telegram", True): 6, ("discord", False): 6}
    late = [t for t in _telegram_titles(telegram) if "05-05" in t or "05-06" in t or "05-07" in t]
    assert len(late) == 6
    captions = [telegram_visible_text(r.fields["caption"]) for r in telegram.received if r.method == "sendPhoto"]
    assert sum("Sent late: it was due 2026-05-06 00:05 UTC" in c for c in captions) == 2  # main and other
    assert not any("Sent late" in c for c in captions[:2])  # 05-04's were on time

    clock.advance(30)
    assert _tick(scheduler) == []  # Discord waits for its backoff (60 s); Telegram is not sent again
    discord.fail_next = 0
    clock.advance(31)
    outcomes = _tick(scheduler)
    assert Counter((o.channel, o.ok) for o in outcomes) == {("discord", True): 6}

    # The weekly report (Monday 05-11) and the last three days, after one more restart.
    clock = FixedClock(ts("2026-05-11") + SEND_DELAY + 1)
    scheduler = _service(tmp_path, telegram, discord, clock)
    assert len(_tick(scheduler)) == 2 * 2 * 4  # 2 accounts x 2 channels x (3 days + 1 week)
    assert _tick(_service(tmp_path, telegram, discord, clock)) == []

    expected = sorted(
        [f"Daily report · {a} · 2026-05-{d:02d} UTC" for a in ("main", "other") for d in range(4, 11)]
        + [f"Weekly report · {a} · week 2026-05-04 to 2026-05-10 UTC" for a in ("main", "other")])
    assert sorted(_telegram_titles(telegram)) == expected  # each once: no duplicate, no gap
    assert sorted(_discord_titles(discord)) == expected
    state = State(tmp_path / "reports-data", clock.now())
    assert all(d.status == "sent" for d in state.deliveries())
    assert {d.late for d in state.deliveries() if d.period == "day:2026-05-06"} == {True}
    assert {d.late for d in state.deliveries() if d.period == "week:2026-05-04"} == {False}


def test_a_channel_configured_later_gets_reports_from_then_on(world):
    tmp_path, telegram, discord = world
    clock = FixedClock(ts("2026-05-04", 10))
    settings = load_settings(telegram.env())
    state = State(tmp_path / "reports-data", clock.now())
    scheduler = ReportScheduler(Journal(tmp_path / "journal"), state, build_transports(settings), ("telegram",),
                                ("day",), None, clock)
    clock.at = ts("2026-05-06", 1)
    assert len(_tick(scheduler)) == 4  # 05-04 and 05-05, two accounts
    # Discord added on 05-06 01:00: it gets 05-06 onwards, not the past.
    scheduler = _service(tmp_path, telegram, discord, clock)
    assert _tick(scheduler) == []
    clock.at = ts("2026-05-07", 1)
    assert Counter(o.channel for o in _tick(scheduler)) == {"telegram": 2, "discord": 2}
    assert sorted(_discord_titles(discord)) == ["Daily report · main · 2026-05-06 UTC",
                                                "Daily report · other · 2026-05-06 UTC"]


def test_a_channel_that_keeps_failing_is_retried_with_backoff_then_given_up(world):
    tmp_path, telegram, discord = world
    discord.fail_next, discord.fail_status = 1_000, 404
    clock = FixedClock(ts("2026-05-04", 10))
    settings = load_settings(discord.env())
    scheduler = ReportScheduler(Journal(tmp_path / "journal"), State(tmp_path / "reports-data", clock.now()),
                                build_transports(settings), ("discord",), ("day",), None, clock)
    clock.at = ts("2026-05-05") + SEND_DELAY
    assert [o.ok for o in _tick(scheduler)] == [False, False]  # main and other
    (first,) = [d for d in scheduler.state.deliveries() if d.account == "main"]
    assert (first.status, first.attempts, first.next_attempt_at) == ("retrying", 1, clock.now() + 60)
    clock.advance(59)
    assert _tick(scheduler) == []
    clock.advance(1)
    assert len(_tick(scheduler)) == 2
    assert scheduler.state.delivery("main", "day:2026-05-04", "discord").next_attempt_at == clock.now() + 120
    clock.advance(GIVE_UP_AFTER)  # a day of attempts (and the next days are due meanwhile, failing too)
    _tick(scheduler)
    given_up = scheduler.state.delivery("main", "day:2026-05-04", "discord")
    assert given_up.status == "abandoned" and given_up.attempts == 3 and "404" in given_up.last_error
    clock.advance(7 * 86_400)
    _tick(scheduler)  # later days are retried; the abandoned one is not
    assert scheduler.state.delivery("main", "day:2026-05-04", "discord").attempts == 3
    assert [retry_delay(n) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]


def test_an_exchange_account_gets_its_reports_on_the_schedule_as_a_paper_account_does(world):
    tmp_path, telegram, discord = world
    journal = create_journal(tmp_path / "journal")  # the fixed journal, with a watched Binance account beside
    journal.account("binance", created=ts("2026-05-01"), equity=25_000.0, kind="exchange", exchange="binance")
    journal.trade("binance", "ETHUSDT", "external", 120.0, 86_400.0 * 2, ts("2026-05-04", 8), reason="external")
    journal.close()
    clock = FixedClock(ts("2026-05-04", 1))
    scheduler = _service(tmp_path, telegram, discord, clock)
    assert _tick(scheduler) == []
    clock.at = ts("2026-05-05") + SEND_DELAY + 1
    outcomes = _tick(scheduler)
    assert Counter((o.channel, o.ok) for o in outcomes) == {("telegram", True): 3, ("discord", True): 3}
    assert "Daily report · binance · 2026-05-04 UTC" in _telegram_titles(telegram)
    [embed] = [r.payload["embeds"][0] for r in discord.received
               if r.payload["embeds"][0]["title"] == "Daily report · binance · 2026-05-04 UTC"]
    assert "1 trades · win rate 100.0 %" in embed["description"]
    assert "exchange account on binance" in embed["footer"]["text"]
    assert _tick(_service(tmp_path, telegram, discord, clock)) == []  # and once only, across a restart
