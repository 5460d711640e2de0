"""Replays of the real recordings: every message parsed, books consistent, no false gap; an
injected gap is detected and repaired."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from tests.trader_feeds.feeds_testkit import BINANCE_2021, BTC_2024, ETH_2024, OKX_2022, Recorder, recording_lines

from trader import events
from trader.bus import EventBus
from trader.feeds import make_feeds
from trader.feeds.replay import ReplayFeed
from trader.market import MarketState


def _independent_counts(path) -> dict[str, int]:
    """Count message kinds by substring, without the parser under test."""
    counts = {"quote": 0, "trade": 0, "depth": 0, "snapshot": 0}
    for line in recording_lines(path):
        if b'"e":"bookTicker"' in line:
            counts["quote"] += 1
        elif b'"e":"trade"' in line:
            counts["trade"] += 1
        elif b'"e":"depthUpdate"' in line:
            counts["depth"] += 1
        elif b'"lastUpdateId"' in line:
            counts["snapshot"] += 1
    return counts


def _replay(paths, speed=None):
    """(summary, market, events seen, the book updates after which a book was crossed)."""
    bus, market = EventBus(), MarketState()
    seen = Recorder(bus)
    feed = ReplayFeed(paths, bus, market, speed=speed)
    crossed = []

    def check(update: events.DepthUpdate) -> None:
        if market.book(update.exchange, update.symbol).is_crossed():
            crossed.append(update)

    bus.subscribe(events.DepthUpdate, check)
    summary = asyncio.run(feed.run())
    return summary, market, seen, crossed


@pytest.mark.parametrize("path", [BTC_2024, ETH_2024], ids=["btc", "eth"])
def test_2024_recording_parses_every_message_with_consistent_book(path):
    summary, market, seen, crossed = _replay(path)
    expected = _independent_counts(path)
    if path == BTC_2024:  # the counts data/README.md gives
        assert (expected["quote"], expected["trade"], expected["depth"]) == (66_089, 21_313, 6_551)
    for kind, n in expected.items():
        assert summary.counts[kind] == n, kind
    assert summary.messages == sum(expected.values())
    assert summary.rejected == 0
    assert summary.sequence_gaps == 0
    assert seen[events.FeedResynced] == []  # no false gap, not even at the first depth event
    assert len(seen[events.Quote]) == expected["quote"]
    assert len(seen[events.Trade]) == expected["trade"]
    # best bid < best ask after every applied update
    assert crossed == []
    symbol = "BTCUSDT" if path == BTC_2024 else "ETHUSDT"
    book = market.book("binance", symbol)
    assert book.best_bid() < book.best_ask()
    assert len(book) > 1000  # the in-line REST snapshot (1000 levels a side) was installed
    # the book's top agrees with the last bookTicker to within a few ticks
    state = market.get("binance", symbol)
    assert abs(book.best_bid() - state.bid) / state.bid < 0.001
    assert str(summary).startswith("replay binance: ")


def test_both_2024_recordings_merge_into_one_binance_feed():
    bus, market = EventBus(), MarketState()
    feeds = make_feeds("replay", [], [], bus, market, replay_path=[BTC_2024, ETH_2024])
    assert [f.exchange for f in feeds] == ["binance"]
    summary = asyncio.run(feeds[0].run())
    assert summary.counts["snapshot"] == 2  # each file's snapshot went to its own symbol
    assert summary.sequence_gaps == 0 and summary.rejected == 0
    for symbol in ("BTCUSDT", "ETHUSDT"):
        book = market.book("binance", symbol)
        assert len(book) > 1000 and book.best_bid() < book.best_ask()
    assert market.feed("binance").state == "stopped"


def test_injected_gap_is_detected_and_the_book_reseeded(tmp_path):
    lines = recording_lines(BTC_2024)[:30_000]
    depth_at = [i for i, line in enumerate(lines) if b'"e":"depthUpdate"' in line]
    dropped = depth_at[len(depth_at) // 2]
    gapped = tmp_path / "gap.jsonl.gz"
    with gzip.open(gapped, "wb") as f:
        f.write(b"\n".join(line for i, line in enumerate(lines) if i != dropped) + b"\n")

    summary, market, seen, crossed = _replay(gapped)
    assert market.feed("binance").sequence_gaps == {"BTCUSDT": 1}
    assert summary.sequence_gaps == 1
    resynced = seen[events.FeedResynced]
    assert len(resynced) == 1 and resynced[0].symbol == "BTCUSDT" and "sequence gap" in resynced[0].reason
    assert crossed == []
    book = market.book("binance", "BTCUSDT")
    assert book.best_bid() < book.best_ask()


def test_cryptofeed_binance_capture_multi_symbol():
    summary, market, seen, crossed = _replay(BINANCE_2021)
    assert summary.rejected == 0 and summary.sequence_gaps == 0
    assert summary.counts["trade"] == 91  # aggTrade
    assert summary.counts["ignored"] == 67  # kline_1m
    assert summary.counts["depth"] == 764 and summary.counts["quote"] == 613
    assert {s for _, s in market.symbols()} == {"SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"}
    assert crossed == []


def test_cryptofeed_okx_capture():
    summary, market, seen, crossed = _replay(OKX_2022)
    assert summary.exchange == "okx"
    assert summary.rejected == 0
    assert summary.counts["control"] == 18  # subscribe acknowledgements; the 4 connection lines are skipped
    assert summary.messages == 410
    assert {s for _, s in market.symbols()} == {"BTCUSDT", "UNIUSD", "BTCUSD_220527"}
    for _, symbol in market.symbols():
        book = market.book("okx", symbol)
        assert book.best_bid() < book.best_ask(), symbol


def test_replay_speed_paces_by_recorded_time(tmp_path):
    # 40 lines of the OKX capture span ~0.5 s of recorded time; at 5x they take ~0.1 s.
    lines = [l for l in recording_lines(OKX_2022) if l[:1].isdigit()][:40]
    path = tmp_path / "okx.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary, *_ = _replay(path, speed=5.0)
    assert summary.recorded_seconds > 0.3
    assert summary.seconds >= summary.recorded_seconds / 5.0 * 0.9


def test_replay_rejects_bad_arguments(tmp_path):
    bus, market = EventBus(), MarketState()
    with pytest.raises(FileNotFoundError, match="nope.gz"):
        ReplayFeed(tmp_path / "nope.gz", bus, market)
    with pytest.raises(ValueError, match="speed"):
        ReplayFeed(OKX_2022, bus, market, speed=0)
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    with pytest.raises(ValueError, match="cannot tell the exchange"):
        ReplayFeed(junk, bus, market)
