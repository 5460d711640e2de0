"""The simulated feed: events, drill hooks (shock, pause), determinism, the factory.

Every test drives the feed's own steps (``start``, ``tick``, ``stop``: what ``run()`` does) on a
clock of its own, so nothing waits on wall time and every run is the same.
"""

from __future__ import annotations

import pytest

from tests.trader_feeds.feeds_testkit import Recorder
from trader import events
from trader.bus import EventBus
from trader.feeds import make_feeds, sim_symbols
from trader.feeds.sim import SimFeed
from trader.market import MarketState

NOW = 1_723_161_600.0  # 2024-08-09 00:00 UTC: a funding time, as the wall clock would be


class Clock:
    """The time the feeds read; only ``advance`` moves it."""

    def __init__(self, start: float = NOW) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def advance(feeds, clock: Clock, seconds: float) -> None:
    """What ``run()`` does over ``seconds``: a tick per feed every update interval."""
    step = feeds[0].interval
    for _ in range(round(seconds / step)):
        clock.now += step
        for feed in feeds:
            feed.tick()


def test_sim_symbol_names():
    assert sim_symbols(3) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    names = sim_symbols(12)
    assert names[10:] == ["SYM001USDT", "SYM002USDT"] and len(set(names)) == 12


def test_sim_publishes_market_events_on_several_exchanges():
    bus, market, clock = EventBus(), MarketState(), Clock()
    seen = Recorder(bus)
    feeds = make_feeds("sim", ["binance", "bybit", "okx"], 4, bus, market, seed=7, updates_per_second=20,
                       sim_options={"trades_per_second": 20.0, "clock": clock})
    for feed in feeds:
        feed.start()
    advance(feeds, clock, 0.6)
    for feed in feeds:
        feed.stop()
    assert {f.exchange for f in feeds} == {"binance", "bybit", "okx"}
    assert len(market.symbols()) == 12
    for kind in (events.Quote, events.DepthUpdate, events.Trade, events.MarkPrice):
        assert {e.exchange for e in seen[kind]} == {"binance", "bybit", "okx"}, kind
    for state in market:
        assert state.best_bid() < state.best_ask()
        assert state.book.best_bid() < state.book.best_ask() and len(state.book) == 20
        assert state.mark_price is not None and state.funding_rate is not None
        assert state.next_funding_ts % (8 * 3600) == 0
    btc = market.mid("binance", "BTCUSDT")
    assert 50_000 < btc < 70_000
    assert all(s.state == "stopped" for s in market.feed_snapshots())
    assert len(seen[events.FeedConnected]) == 3 and len(seen[events.FeedDisconnected]) == 3


def test_shock_drops_one_symbol_by_the_ratio_and_it_stays_down():
    bus, market, clock = EventBus(), MarketState(), Clock()
    feed = SimFeed("binance", sim_symbols(2), bus, market, seed=1, updates_per_second=20, clock=clock)
    seen = Recorder(bus)
    marks = {}

    def mids():
        return market.mid("binance", "BTCUSDT"), market.mid("binance", "ETHUSDT")

    feed.start()
    advance([feed], clock, 0.2)
    marks["before"] = mids()
    feed.shock("BTCUSDT", drop_ratio=0.35, over_seconds=0.3)
    advance([feed], clock, 0.6)
    marks["after"] = mids()
    advance([feed], clock, 0.3)
    marks["later"] = mids()
    feed.stop()
    btc_ratio = marks["after"][0] / marks["before"][0]
    assert 0.62 < btc_ratio < 0.68  # 35 % down, give or take the random walk
    assert 0.98 < marks["after"][1] / marks["before"][1] < 1.02  # ETH untouched
    assert 0.97 < marks["later"][0] / marks["after"][0] < 1.03  # stays down
    liquidations = [e for e in seen[events.MarketLiquidation] if e.symbol == "BTCUSDT"]
    assert liquidations and all(e.side == "sell" for e in liquidations)


def test_pause_is_an_outage_with_disconnect_and_reconnect():
    bus, market, clock = EventBus(), MarketState(), Clock()
    feed = SimFeed("okx", sim_symbols(1), bus, market, seed=2, updates_per_second=20, clock=clock)
    seen = Recorder(bus)
    during = {}

    feed.start()
    advance([feed], clock, 0.2)
    feed.pause(0.4)
    advance([feed], clock, 0.15)
    during["snapshot"] = market.feed_snapshots()[0]
    during["quotes"] = len(seen[events.Quote])
    advance([feed], clock, 0.15)
    during["quotes_later"] = len(seen[events.Quote])
    advance([feed], clock, 0.4)
    feed.stop()
    snap = during["snapshot"]
    assert snap.state == "backoff" and not snap.connected and snap.last_error == "simulated outage"
    assert during["quotes_later"] == during["quotes"]  # silence during the outage
    reasons = [e.reason for e in seen[events.FeedDisconnected]]
    assert reasons == ["simulated outage", "stopped"]
    assert len(seen[events.FeedConnected]) == 2 and market.feed("okx").reconnects == 1
    assert len(seen[events.Quote]) > during["quotes_later"]  # data again after the outage


def test_same_seed_same_walk():
    def walk(seed):
        market, clock = MarketState(), Clock()
        feed = SimFeed("binance", sim_symbols(3), EventBus(), market, seed=seed, clock=clock)
        feed.start()
        advance([feed], clock, 12.5)
        return [market.mid("binance", s) for s in sim_symbols(3)]

    assert walk(5) == walk(5)
    assert walk(5) != walk(6)


def test_bad_sim_arguments_are_refused_clearly():
    bus, market = EventBus(), MarketState()
    with pytest.raises(ValueError, match="updates_per_second"):
        SimFeed("binance", ["BTCUSDT"], bus, market, updates_per_second=100)
    feed = SimFeed("binance", ["BTCUSDT"], bus, market)
    with pytest.raises(ValueError, match="drop_ratio"):
        feed.shock(drop_ratio=35)
    with pytest.raises(ValueError, match="XYZUSDT"):
        feed.shock("XYZUSDT")
    with pytest.raises(ValueError, match="feed kind 'bogus'"):
        make_feeds("bogus", ["binance"], 1, bus, market)
    with pytest.raises(ValueError, match="exchange 'kraken'"):
        make_feeds("sim", ["kraken"], 1, bus, market)
    with pytest.raises(ValueError, match="replay_path"):
        make_feeds("replay", [], [], bus, market)
