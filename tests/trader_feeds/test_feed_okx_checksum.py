"""OKX order book integrity: the ``books`` checksum and ``seqId`` chain, gap detection, resync.

Real messages: the OKX recording of 2022-05-13 (shared/data/okx-ws-20220513.txt), whose 290
``books`` messages (3 snapshots, 287 updates) each carry OKX's checksum but no ``seqId``. The
true book at any point is rebuilt here by a small reference (string levels, independent of the
handler) and checked against OKX's own checksum before it is used as a fixture. The fresh
snapshots a resync receives are that true book, carrying the checksum OKX sent for it.
"""

from __future__ import annotations

import asyncio
import functools
import zlib

import orjson
from tests.trader_feeds.feeds_testkit import OKX_2022, Recorder, recording_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.trader_feeds.test_feed_live_resilience import _live, _stop, _until, _ws_server

from trader import events
from trader.bus import EventBus
from trader.feeds.okx import OkxHandler
from trader.feeds.replay import ReplayFeed
from trader.market import MarketState

INST = "BTC-USDT"  # spot in the recording; the handler names it BTCUSDT


# --- an independent reference book (strings as OKX wrote them) -------------------------------

class RefBook:
    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, d: dict, snapshot: bool) -> None:
        if snapshot:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, d["bids"]), (self.asks, d["asks"])):
            for px, sz, *_ in levels:
                side.pop(next((p for p in side if float(p) == float(px)), px), None)
                if float(sz) > 0:
                    side[px] = sz

    def checksum(self) -> int:
        bids = sorted(self.bids, key=float, reverse=True)[:25]
        asks = sorted(self.asks, key=float)[:25]
        parts = []
        for i in range(25):
            if i < len(bids):
                parts += [bids[i], self.bids[bids[i]]]
            if i < len(asks):
                parts += [asks[i], self.asks[asks[i]]]
        crc = zlib.crc32(":".join(parts).encode())
        return crc - 2**32 if crc >= 2**31 else crc

    def snapshot_message(self, inst: str, checksum: int, ts: str = "1652459230000") -> bytes:
        return orjson.dumps({"arg": {"channel": "books", "instId": inst}, "action": "snapshot", "data": [{
            "asks": [[p, s, "0", "1"] for p, s in sorted(self.asks.items(), key=lambda x: float(x[0]))],
            "bids": [[p, s, "0", "1"] for p, s in sorted(self.bids.items(), key=lambda x: -float(x[0]))],
            "ts": ts, "checksum": checksum}]})

    def floats(self) -> tuple[dict, dict]:
        return ({float(p): float(s) for p, s in self.bids.items()}, {float(p): float(s) for p, s in self.asks.items()})


def _payloads() -> list[bytes]:
    return [line.split(b": ", 1)[1] for line in recording_lines(OKX_2022) if line[:1].isdigit()]


def _is_book(p: bytes, inst: str = INST) -> bool:
    """A books push (snapshot or update) for ``inst``, not its subscribe acknowledgement."""
    return f'"channel":"books","instId":"{inst}"}},"action"'.encode() in p


@functools.cache
def _gapped_stream():
    """The recording's messages with one BTC-USDT book update dropped (one that changed the top 25
    levels), the index after which a fresh snapshot is due, that snapshot, and the true final book."""
    payloads = _payloads()
    book_at = [i for i, p in enumerate(payloads) if _is_book(p)]
    ref = RefBook()
    checksums = {}
    snapshots = {}
    for i in book_at:
        msg = orjson.loads(payloads[i])
        d = msg["data"][0]
        ref.apply(d, msg["action"] == "snapshot")
        assert ref.checksum() == d["checksum"], "the reference book disagrees with OKX"  # fixture sanity
        checksums[i] = d["checksum"]
        snapshots[i] = ref.snapshot_message(INST, d["checksum"])
    # drop an update at a third of the way that moved the top 25 (its checksum differs from the last)
    n = len(book_at) // 3
    dropped = next(book_at[k] for k in range(n, len(book_at)) if checksums[book_at[k]] != checksums[book_at[k - 1]])
    resync_after = book_at[book_at.index(dropped) + 6]  # a fresh snapshot arrives 5 updates later
    sent = [p for i, p in enumerate(payloads) if i != dropped]
    return payloads, sent, dropped, resync_after, snapshots[resync_after], ref.floats()


def _replay(lines: list[bytes], tmp_path, name="okx.txt"):
    path = tmp_path / name
    path.write_bytes(b"".join(b"%.3f: %s\n" % (1652459225.0 + i * 0.01, p) for i, p in enumerate(lines)))
    bus, market = EventBus(), MarketState()
    seen = Recorder(bus)
    feed = ReplayFeed(path, bus, market)
    summary = asyncio.run(feed.run())
    return summary, market, seen, feed.handler


def _book(market, symbol="BTCUSDT"):
    book = market.book("okx", symbol)
    return dict(book.bids), dict(book.asks)


# --- the recording -----------------------------------------------------------------------------

def test_the_2022_recording_replays_with_every_checksum_verified_and_no_false_gap():
    with_checksum = sum(1 for p in _payloads() if b'"channel":"books"' in p and b'"checksum":' in p)
    assert with_checksum == 290  # every books message of the recording carries OKX's checksum
    bus, market = EventBus(), MarketState()
    seen = Recorder(bus)
    feed = ReplayFeed(OKX_2022, bus, market)
    summary = asyncio.run(feed.run())
    assert summary.sequence_gaps == 0 and summary.rejected == 0
    assert seen[events.FeedResynced] == []
    assert feed.handler.checksums_verified == with_checksum  # validated, not skipped


def test_the_checksum_needs_the_strings_as_received():
    """Sizes like "2" read back from floats as "2.0": a checksum over floats would fail every time."""
    snapshot = next(p for p in _payloads() if _is_book(p) and b'"snapshot"' in p)
    h = OkxHandler(EventBus(), MarketState())
    h.on_message(snapshot, 1.0)
    assert h.checksums_verified == 1 and h.stats.sequence_gaps == {}
    book = h.market.book("okx", "BTCUSDT")
    from_floats = RefBook()
    from_floats.bids = {repr(p): repr(q) for p, q in book.bids.items()}
    from_floats.asks = {repr(p): repr(q) for p, q in book.asks.items()}
    assert from_floats.checksum() != orjson.loads(snapshot)["data"][0]["checksum"]


# --- gaps in a replay ---------------------------------------------------------------------------

def test_replay_lost_update_is_caught_by_the_checksum_and_reseeded_from_the_next_snapshot(tmp_path):
    payloads, sent, dropped, resync_after, fresh, true_final = _gapped_stream()
    lines = []
    for p in sent:
        lines.append(p)
        if p is payloads[resync_after]:
            lines.append(fresh)  # a later snapshot in the recording
    summary, market, seen, handler = _replay(lines, tmp_path)
    assert market.feed("okx").sequence_gaps == {"BTCUSDT": 1}  # counted once, not once per ignored update
    assert summary.sequence_gaps == 1 and summary.rejected == 0
    resynced = seen[events.FeedResynced]
    assert len(resynced) == 1 and resynced[0].symbol == "BTCUSDT"
    assert "checksum mismatch" in resynced[0].reason
    assert _book(market) == true_final  # every update after the fresh snapshot verified and applied
    for symbol in ("UNIUSD", "BTCUSD_220527"):  # the other instruments never lost anything
        assert len(market.book("okx", symbol)) > 0


def test_replay_wrong_checksum_without_a_later_snapshot_leaves_the_book_empty(tmp_path):
    payloads = _payloads()
    first_update = next(i for i, p in enumerate(payloads) if _is_book(p) and b'"update"' in p)
    msg = orjson.loads(payloads[first_update])
    msg["data"][0]["checksum"] += 1
    lines = list(payloads)
    lines[first_update] = orjson.dumps(msg)
    summary, market, seen, handler = _replay(lines, tmp_path)
    assert summary.sequence_gaps == 1 and market.feed("okx").sequence_gaps == {"BTCUSDT": 1}
    assert seen[events.FeedResynced] == []  # nothing rebuilt it: no snapshot follows in the recording
    assert len(market.book("okx", "BTCUSDT")) == 0  # no wrong book is shown as if it were right
    assert handler.syncing(INST)


def test_seq_id_break_then_fresh_snapshot_publishes_resynced_once():
    # DOCUMENTED SHAPE (OKX v5 "Order book channel": seqId/prevSeqId, checksum)
    def books(action, seq, prev, bid):
        ref = RefBook()
        ref.bids = {bid: "1"}
        ref.asks = {"101": "1"}
        return orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": action,
                             "data": [{"asks": [["101", "1", "0", "1"]], "bids": [[bid, "1", "0", "1"]], "ts": "1",
                                       "seqId": seq, "prevSeqId": prev,
                                       "checksum": ref.checksum() if action == "snapshot" else None}]})
    bus, market = EventBus(), MarketState()
    seen = Recorder(bus)
    h = OkxHandler(bus, market)
    asked = []
    h.on_gap = asked.append
    h.on_message(books("snapshot", 10, -1, "99"), 1.0)
    h.on_message(books("update", 13, 12, "99.5"), 2.0)  # 11 and 12 missing
    h.on_message(books("update", 14, 13, "99.6"), 3.0)  # ignored while waiting
    assert h.stats.sequence_gaps == {"BTCUSDT": 1} and asked == ["BTC-USDT-SWAP"]
    assert seen[events.FeedResynced] == [] and len(market.book("okx", "BTCUSDT")) == 0
    h.on_message(books("snapshot", 20, -1, "98"), 4.0)
    reasons = [e.reason.split(";")[0] for e in seen[events.FeedResynced]]
    assert reasons == ["sequence gap: prevSeqId=12 but the last seqId=10"]
    assert dict(market.book("okx", "BTCUSDT").bids) == {98.0: 1.0}
    assert h.stats.sequence_gaps == {"BTCUSDT": 1} and not h.syncing("BTC-USDT-SWAP")


# --- live: resubscribe on a real local WebSocket server ----------------------------------------

def test_live_checksum_mismatch_resubscribes_and_the_fresh_snapshot_restores_the_true_book():
    payloads, sent, dropped, resync_after, fresh, true_final = _gapped_stream()
    cut = sent.index(payloads[resync_after]) + 1
    before, after = sent[:cut], sent[cut:]
    requests = []

    async def scenario():
        async def server(ws):
            requests.append(orjson.loads(await ws.recv()))  # the initial subscription
            for p in before:
                await ws.send(p.decode())
            async for text in ws:
                if text == "ping":
                    continue
                req = orjson.loads(text)
                requests.append(req)
                await ws.send(orjson.dumps({"event": req["op"], "arg": req["args"][0]}).decode())
                if req["op"] == "subscribe" and req["args"][0].get("channel") == "books":
                    await ws.send(fresh.decode())  # what OKX does: a snapshot after a subscribe
                    for p in after:
                        await ws.send(p.decode())

        srv, port = await _ws_server(server)
        feed, bus, market = _live("okx", port)
        feed.book_channel = "books"  # the channel with incremental updates and checksums
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        try:
            await _until(lambda: market.feed("okx").messages >= len(sent) + 3 and seen[events.FeedResynced], timeout=10)
        finally:
            await _stop(task)
            srv.close()
        return market, seen, feed

    market, seen, feed = asyncio.run(scenario())
    assert requests[1:] == [{"op": "unsubscribe", "args": [{"channel": "books", "instId": INST}]},
                            {"op": "subscribe", "args": [{"channel": "books", "instId": INST}]}]
    assert market.feed("okx").sequence_gaps == {"BTCUSDT": 1}
    assert len(seen[events.FeedResynced]) == 1 and "checksum mismatch" in seen[events.FeedResynced][0].reason
    assert _book(market) == true_final
    assert sum(market.feed("okx").rejected.values()) == 0


# --- fuzzing ------------------------------------------------------------------------------------

_price = st.integers(1, 60).map(lambda n: n * 5)  # ticks of 0.05 below/above the mid
_size = st.sampled_from(["0", "1", "2.50", "0.1", "10", "3.0", "0.000"])


def _level_text(ticks: int, fmt: int) -> str:
    value = ticks * 0.01
    return (f"{value:.2f}", f"{value:.4f}", f"{value:g}")[fmt]


_levels = st.lists(st.tuples(_price, st.integers(0, 2), _size), max_size=8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(_levels, _levels, st.integers(0, 9)), min_size=1, max_size=12))
def test_fuzz_valid_streams_never_gap_and_corrupted_ones_are_counted_once_per_episode(steps):
    """Bids below 100, asks above: prices written in varying formats ("1.50", "1.5000", "1.5") as
    OKX might; a correct checksum must always verify, a wrong one must always be caught."""
    bus, market = EventBus(), MarketState()
    h = OkxHandler(bus, market)
    ref = RefBook()
    ref.bids, ref.asks = {"99.00": "1"}, {"101.00": "1"}
    h.on_message(ref.snapshot_message("BTC-USDT-SWAP", ref.checksum()), 1.0)
    expected_gaps = 0
    waiting = False
    for bids, asks, corrupt in steps:
        d = {"bids": [[_level_text(9900 - t, f), s, "0", "1"] for t, f, s in bids],
             "asks": [[_level_text(10100 + t, f), s, "0", "1"] for t, f, s in asks], "ts": "2"}
        candidate = RefBook()
        candidate.bids, candidate.asks = dict(ref.bids), dict(ref.asks)
        candidate.apply(d, snapshot=False)
        d["checksum"] = candidate.checksum() + (1 if corrupt == 0 else 0)
        h.on_message(orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"},
                                   "action": "update", "data": [d]}), 2.0)
        if waiting:
            continue
        if corrupt == 0:
            expected_gaps += 1
            waiting = True
        else:
            ref = candidate
    assert sum(h.stats.rejected.values()) == 0
    assert h.stats.sequence_gaps.get("BTCUSDT", 0) == expected_gaps
    if not waiting:
        assert (dict(market.book("okx", "BTCUSDT").bids), dict(market.book("okx", "BTCUSDT").asks)) == ref.floats()


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=6)
                     | st.sampled_from(["0", "1", "NaN", "-1", "snapshot", "update"]),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                     max_leaves=10)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=st.lists(st.fixed_dictionaries({
    "action": st.sampled_from(["snapshot", "update", "bogus"]) | _json,
    "bids": st.lists(st.tuples(st.sampled_from(["99", "99.5", "98", "0", "x"]) | _json, _size | _json), max_size=3),
    "asks": st.lists(st.tuples(st.sampled_from(["101", "100.5", "102"]) | _json, _size | _json), max_size=3),
    "checksum": st.none() | st.integers(-2**31, 2**31 - 1) | _json,
    "seqId": st.none() | st.integers(0, 5) | _json, "prevSeqId": st.none() | st.integers(-1, 5) | _json,
}), max_size=8), on_gap=st.booleans())
def test_fuzz_book_messages_never_raise(msgs, on_gap):
    h = OkxHandler(EventBus(), MarketState())
    if on_gap:
        h.on_gap = lambda inst: None
    for m in msgs:
        d = {"bids": [list(l) for l in m["bids"]], "asks": [list(l) for l in m["asks"]], "ts": "1"}
        for k in ("checksum", "seqId", "prevSeqId"):
            if m[k] is not None:
                d[k] = m[k]
        h.on_message(orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"},
                                   "action": m["action"], "data": [d]}), 1.0)
    assert h.stats.messages == len(msgs)
    assert sum(h.stats.sequence_gaps.values()) <= len(msgs)
    book = h.market.book("okx", "BTCUSDT")
    assert all(q > 0 for q in book.bids.values()) and all(q > 0 for q in book.asks.values())
