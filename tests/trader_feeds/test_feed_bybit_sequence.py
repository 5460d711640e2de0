"""Bybit order book integrity: the ``u`` chain of ``orderbook.{depth}.{symbol}``, gaps, resync.

DOCUMENTED SHAPES: no real Bybit capture is stored in this repository. Every message here is
built from Bybit's v5 public WebSocket documentation ("Orderbook": ``topic``, ``type``
snapshot|delta, ``ts``, ``data`` = {``s``, ``b``, ``a``, ``u``, ``seq``}, ``cts``; each delta's
``u`` is the previous one + 1; ``u`` = 1 is a full book after a service restart). The true book
is kept by a reference model here, independent of the handler.
"""

from __future__ import annotations

import asyncio
import random

import orjson
from tests.trader_feeds.feeds_testkit import Recorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.trader_feeds.test_feed_live_resilience import _live, _stop, _until, _ws_server

from trader import events
from trader.bus import EventBus
from trader.feeds.bybit import BybitHandler
from trader.feeds.replay import ReplayFeed
from trader.market import MarketState

TOPIC = "orderbook.50.BTCUSDT"


def book_msg(kind: str, u: int, bids: list, asks: list, ts: int = 1672304484978) -> bytes:
    return orjson.dumps({"topic": TOPIC, "type": kind, "ts": ts,
                         "data": {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": 7961638724 + u},
                         "cts": ts - 2})


class Model:
    """The true book: price string -> size string, as Bybit's documentation says to apply them."""

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, bids, asks, snapshot=False):
        if snapshot:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for px, sz in levels:
                if float(sz) == 0:
                    side.pop(px, None)
                else:
                    side[px] = sz

    def snapshot(self, u: int) -> bytes:
        return book_msg("snapshot", u, sorted(self.bids.items(), key=lambda x: -float(x[0])),
                        sorted(self.asks.items(), key=lambda x: float(x[0])))

    def floats(self):
        return ({float(p): float(s) for p, s in self.bids.items()}, {float(p): float(s) for p, s in self.asks.items()})


def stream(n_deltas: int, seed: int = 7, first_u: int = 18521288):
    """A snapshot and ``n_deltas`` deltas with random level changes; the model after each message."""
    rng = random.Random(seed)
    model = Model()
    bids = [[f"{16493.5 - i * 0.5:.2f}", f"{rng.randint(1, 900) / 1000:.3f}"] for i in range(20)]
    asks = [[f"{16494.0 + i * 0.5:.2f}", f"{rng.randint(1, 900) / 1000:.3f}"] for i in range(20)]
    model.apply(bids, asks, snapshot=True)
    msgs = [book_msg("snapshot", first_u, bids, asks)]
    models = [model.floats()]
    for k in range(1, n_deltas + 1):
        b = [[f"{16493.5 - rng.randint(0, 25) * 0.5:.2f}", rng.choice(["0", f"{rng.randint(1, 900) / 1000:.3f}"])]
             for _ in range(rng.randint(0, 3))]
        a = [[f"{16494.0 + rng.randint(0, 25) * 0.5:.2f}", rng.choice(["0", f"{rng.randint(1, 900) / 1000:.3f}"])]
             for _ in range(rng.randint(0, 3))]
        model.apply(b, a)
        msgs.append(book_msg("delta", first_u + k, b, a))
        models.append(model.floats())
    return msgs, models, model


def _handler():
    bus, market = EventBus(), MarketState()
    return BybitHandler(bus, market), Recorder(bus), market


def _book(market):
    book = market.book("bybit", "BTCUSDT")
    return dict(book.bids), dict(book.asks)


# --- the handler --------------------------------------------------------------------------------

def test_unbroken_chain_builds_the_true_book_with_no_gap():
    msgs, models, _ = stream(60)
    h, seen, market = _handler()
    for m in msgs:
        h.on_message(m, 1.0)
    assert h.stats.sequence_gaps == {} and seen[events.FeedResynced] == []
    assert _book(market) == models[-1]
    assert len(seen[events.DepthUpdate]) == len(msgs)


def test_broken_chain_is_counted_once_and_the_next_snapshot_rebuilds_the_book():
    msgs, models, _ = stream(30)
    h, seen, market = _handler()
    asked = []
    h.on_gap = asked.append
    for m in msgs[:11]:
        h.on_message(m, 1.0)
    for m in msgs[12:20]:  # u of msgs[11] never arrives
        h.on_message(m, 2.0)
    assert h.stats.sequence_gaps == {"BTCUSDT": 1} and asked == [TOPIC]  # once, not per ignored delta
    assert len(market.book("bybit", "BTCUSDT")) == 0 and h.syncing("BTCUSDT")
    assert seen[events.FeedResynced] == []  # not rebuilt yet
    true_after_19 = Model()
    true_after_19.bids = {repr(p): repr(q) for p, q in models[19][0].items()}
    true_after_19.asks = {repr(p): repr(q) for p, q in models[19][1].items()}
    h.on_message(true_after_19.snapshot(18521288 + 19), 3.0)
    for m in msgs[20:]:
        h.on_message(m, 4.0)
    assert _book(market) == models[-1]
    resynced = seen[events.FeedResynced]
    assert len(resynced) == 1
    assert resynced[0].reason.startswith("sequence gap: u=18521300 but the last applied u=18521298")
    assert h.stats.sequence_gaps == {"BTCUSDT": 1} and not h.syncing("BTCUSDT")


def test_delta_before_any_snapshot_is_a_gap_counted_once():
    msgs, _, _ = stream(5)
    h, seen, market = _handler()
    for m in msgs[1:]:
        h.on_message(m, 1.0)
    assert h.stats.sequence_gaps == {"BTCUSDT": 1}
    assert len(market.book("bybit", "BTCUSDT")) == 0 and seen[events.DepthUpdate] == []


def test_u_equal_1_after_a_service_restart_overwrites_the_book():
    msgs, _, _ = stream(5)
    h, seen, market = _handler()
    for m in msgs:
        h.on_message(m, 1.0)
    h.on_message(book_msg("delta", 1, [["16000.00", "1.000"]], [["16001.00", "2.000"]]), 2.0)  # restart
    h.on_message(book_msg("delta", 2, [["16000.50", "0.500"]], []), 3.0)
    assert _book(market) == ({16000.0: 1.0, 16000.5: 0.5}, {16001.0: 2.0})
    assert h.stats.sequence_gaps == {}


def test_a_bad_u_is_rejected_without_touching_the_book():
    msgs, models, _ = stream(3)
    h, seen, market = _handler()
    for m in msgs:
        h.on_message(m, 1.0)
    h.on_message(orjson.dumps({"topic": TOPIC, "type": "delta", "ts": 1, "data": {
        "s": "BTCUSDT", "b": [["1.00", "5"]], "a": [], "u": "18521292", "seq": 1}}), 2.0)
    assert h.stats.rejected["schema"] == 1 and h.stats.sequence_gaps == {}
    assert _book(market) == models[-1]


# --- replay ---------------------------------------------------------------------------------------

def test_replay_detects_the_gap_and_reseeds_from_the_next_snapshot(tmp_path):
    msgs, models, final = stream(40)
    lines = msgs[:15] + msgs[16:25] + [final.snapshot(18521288 + 40)]  # a later snapshot: the book now
    lines += [book_msg("delta", 18521288 + 41, [["16493.50", "7.000"]], [])]
    final.apply([["16493.50", "7.000"]], [])
    path = tmp_path / "bybit.txt"
    path.write_bytes(b"wss://stream.bybit.com/v5/public/linear <-> 1672304484.0\n" + b"".join(
        b"%.3f: %s\n" % (1672304484.0 + i * 0.01, m) for i, m in enumerate(lines)))
    bus, market = EventBus(), MarketState()
    seen = Recorder(bus)
    feed = ReplayFeed(path, bus, market)
    summary = asyncio.run(feed.run())
    assert summary.exchange == "bybit" and summary.rejected == 0
    assert summary.sequence_gaps == 1 and market.feed("bybit").sequence_gaps == {"BTCUSDT": 1}
    assert len(seen[events.FeedResynced]) == 1
    assert _book(market) == final.floats()


# --- live: resubscribe on a real local WebSocket server ---------------------------------------

def test_live_gap_resubscribes_the_topic_and_the_fresh_snapshot_restores_the_true_book():
    msgs, models, final = stream(50)
    first = msgs[:21] + msgs[22:30]  # u of msgs[21] is lost on the way
    requests = []

    async def scenario():
        async def server(ws):
            requests.append(orjson.loads(await ws.recv()))  # the initial subscription
            for m in first:
                await ws.send(m.decode())
            async for text in ws:
                req = orjson.loads(text)
                if req.get("op") == "ping":
                    continue
                requests.append(req)
                await ws.send(orjson.dumps({"success": True, "ret_msg": "", "conn_id": "c", "op": req["op"]}).decode())
                if req["op"] == "subscribe":
                    truth = Model()
                    truth.bids = {repr(p): repr(q) for p, q in models[35][0].items()}
                    truth.asks = {repr(p): repr(q) for p, q in models[35][1].items()}
                    await ws.send(truth.snapshot(18521288 + 35).decode())  # Bybit: a snapshot on subscribe
                    for m in msgs[36:]:
                        await ws.send(m.decode())

        srv, port = await _ws_server(server)
        feed, bus, market = _live("bybit", port)
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        try:
            await _until(lambda: market.feed("bybit").messages >= len(first) + 3 + len(msgs[36:]), timeout=10)
        finally:
            await _stop(task)
            srv.close()
        return market, seen

    market, seen = asyncio.run(scenario())
    assert requests[1:] == [{"op": "unsubscribe", "args": [TOPIC]}, {"op": "subscribe", "args": [TOPIC]}]
    assert market.feed("bybit").sequence_gaps == {"BTCUSDT": 1}
    assert len(seen[events.FeedResynced]) == 1 and "sequence gap" in seen[events.FeedResynced][0].reason
    assert _book(market) == final.floats()
    assert sum(market.feed("bybit").rejected.values()) == 0


# --- fuzzing ------------------------------------------------------------------------------------

_any = st.none() | st.booleans() | st.integers(-5, 2**63 - 1) | st.text(max_size=5) | st.floats() \
    | st.sampled_from(["0", "1", "NaN", "-1", "inf", "16493.50"])
_level = st.lists(st.sampled_from(["16493.50", "16494.00", "0", "abc", "NaN"]) | _any, min_size=0, max_size=3)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=st.lists(st.tuples(st.sampled_from(["snapshot", "delta", "delta", "other"]) | _any,
                               st.integers(0, 8) | _any, st.lists(_level, max_size=3), st.lists(_level, max_size=3)),
                     max_size=10), on_gap=st.booleans())
def test_fuzz_book_messages_never_raise_and_gaps_stay_bounded(msgs, on_gap):
    h, seen, market = _handler()
    if on_gap:
        h.on_gap = lambda topic: None
    for kind, u, bids, asks in msgs:
        h.on_message(orjson.dumps({"topic": TOPIC, "type": kind, "ts": 1,
                                   "data": {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": 1}}), 1.0)
    assert h.stats.messages == len(msgs)
    assert sum(h.stats.sequence_gaps.values()) <= len(msgs)
    book = market.book("bybit", "BTCUSDT")
    assert all(q > 0 for q in book.bids.values()) and all(q > 0 for q in book.asks.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000), drop=st.integers(1, 40))
def test_fuzz_any_single_lost_delta_is_counted_exactly_once(n, seed, drop):
    msgs, models, _ = stream(n, seed=seed)
    h, seen, market = _handler()
    kept = [m for i, m in enumerate(msgs) if i != drop]
    for m in kept:
        h.on_message(m, 1.0)
    if drop < n:
        assert h.stats.sequence_gaps == {"BTCUSDT": 1}
        assert len(market.book("bybit", "BTCUSDT")) == 0  # waits for a snapshot, shows no wrong book
    else:  # nothing lost (drop > n), or the last delta: nothing after it can reveal the loss yet
        assert h.stats.sequence_gaps == {}
        assert _book(market) == models[n - 1 if drop == n else n]
