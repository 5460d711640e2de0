"""Live adapters against real local servers on 127.0.0.1: reconnect with backoff, region blocks
(HTTP 451), heartbeats, planned reconnects, and Binance's REST-snapshot resynchronisation."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
from aiohttp import web
from tests.trader_feeds.feeds_testkit import BTC_2024, Recorder, first_line, recording_lines
from websockets.asyncio.server import serve

from trader import events
from trader.api_stats import ApiStats
from trader.bus import EventBus
from trader.feeds import make_feeds
from trader.feeds.base import Backoff
from trader.feeds.binance import BinanceHandler
from trader.market import MarketState

FAST = dict(base=0.02, cap=0.1)


async def _ws_server(handler):
    server = await serve(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _http_server(app: web.Application):
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def _live(exchange, port, http_port=None, bus=None, market=None, api_stats=None):
    bus = bus or EventBus()
    market = market or MarketState()
    base = f"ws://127.0.0.1:{port}"
    rest = f"http://127.0.0.1:{http_port or port}"
    endpoints = {"binance": {"ws_base": base, "rest_base": rest}, "bybit": {"ws_url": base},
                 "okx": {"ws_url": base, "rest_base": None if http_port is None else rest}}
    feed = make_feeds("live", [exchange], ["BTCUSDT"], bus, market, api_stats, endpoints=endpoints)[0]
    feed.backoff = Backoff(**FAST)
    return feed, bus, market


async def _until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def _stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_server_closing_the_connection_means_reconnect_with_backoff(caplog):
    ticker = first_line(BTC_2024, b"bookTicker")

    async def scenario():
        async def handler(ws):
            await ws.send(ticker.decode())
            await ws.close(1001, "going away")

        server, port = await _ws_server(handler)
        feed, bus, market = _live("binance", port)
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        await _until(lambda: market.feed("binance").reconnects >= 3)
        assert not task.done()
        await _stop(task)
        server.close()
        return feed, market, seen

    with caplog.at_level(logging.INFO, logger="trader.feeds"):
        feed, market, seen = asyncio.run(scenario())
    stats = market.feed("binance")
    assert stats.state == "stopped" and not stats.connected
    assert len(seen[events.FeedConnected]) >= 4
    reasons = {e.reason for e in seen[events.FeedDisconnected]}
    assert "server closed (1001 going away)" in reasons
    assert len(seen[events.Quote]) >= 4 and seen[events.Quote][0].bid == 61800.2
    assert stats.last_error == "server closed (1001 going away)"


@pytest.mark.parametrize("exchange", ["binance", "bybit", "okx"])
def test_region_block_http_451_backs_off_with_one_log_line(exchange, caplog):
    hits = []

    async def blocked(request):
        hits.append(request.path)
        return web.Response(status=451, text="Service unavailable from a restricted location")

    async def scenario():
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", blocked)
        runner, port = await _http_server(app)
        feed, bus, market = _live(exchange, port, http_port=port)
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        await _until(lambda: len(hits) >= 5 and market.feed(exchange).state == "backoff")
        snapshot = market.feed_snapshots()[0]
        alive = not task.done()
        await _stop(task)
        await runner.cleanup()
        return snapshot, alive, seen, market

    with caplog.at_level(logging.DEBUG, logger="trader.feeds"):
        snapshot, alive, seen, market = asyncio.run(scenario())
    assert alive  # no crash, still retrying
    assert snapshot.state == "backoff" and not snapshot.connected
    assert snapshot.last_error.startswith("HTTP 451"), snapshot.last_error
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # one line per state change, not per retry
    assert warnings[0].exchange == exchange and warnings[0].error.startswith("HTTP 451")
    assert seen[events.FeedConnected] == []
    assert market.feed(exchange).state == "stopped"


def test_okx_heartbeat_ping_and_silence_timeout():
    received = []

    async def scenario():
        async def handler(ws):
            async for text in ws:
                received.append(text)
                if text == "ping":
                    await ws.send("pong")

        server, port = await _ws_server(handler)
        feed, bus, market = _live("okx", port)
        feed.ping_interval = 0.05
        feed.receive_timeout = 0.3  # the server answers pings, then we stop pinging: silence
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        await _until(lambda: received.count("ping") >= 2)
        feed.app_ping = None
        await _until(lambda: seen[events.FeedDisconnected])
        await _stop(task)
        server.close()
        return seen, market

    seen, market = asyncio.run(scenario())
    subscribe = orjson.loads(received[0])
    assert subscribe["op"] == "subscribe"
    channels = {a["channel"] for a in subscribe["args"]}
    assert {"trades", "tickers", "books5", "mark-price", "funding-rate", "liquidation-orders"} <= channels
    assert {a.get("instId") for a in subscribe["args"]} >= {"BTC-USDT-SWAP"}
    assert "heartbeat timeout" in seen[events.FeedDisconnected][0].reason
    assert market.feed("okx").messages >= 2  # the pongs


def test_bybit_subscribes_and_pings():
    received = []

    async def scenario():
        async def handler(ws):
            async for text in ws:
                received.append(orjson.loads(text))

        server, port = await _ws_server(handler)
        feed, bus, market = _live("bybit", port)
        feed.ping_interval = 0.05
        task = asyncio.create_task(feed.run())
        await _until(lambda: any(m.get("op") == "ping" for m in received))
        await _stop(task)
        server.close()

    asyncio.run(scenario())
    topics = received[0]["args"]
    assert received[0]["op"] == "subscribe"
    assert topics == ["publicTrade.BTCUSDT", "orderbook.50.BTCUSDT", "tickers.BTCUSDT", "allLiquidation.BTCUSDT"]


def test_binance_planned_reconnect_before_the_24h_limit():
    ticker = first_line(BTC_2024, b"bookTicker").decode()

    async def scenario():
        async def handler(ws):
            while True:
                await ws.send(ticker)
                await asyncio.sleep(0.02)

        server, port = await _ws_server(handler)
        feed, bus, market = _live("binance", port)
        feed.max_connection_age = 0.2
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        await _until(lambda: len(seen[events.FeedConnected]) >= 3)
        await _stop(task)
        server.close()
        return seen, feed

    seen, feed = asyncio.run(scenario())
    planned = [e for e in seen[events.FeedDisconnected] if e.reason.startswith("planned reconnect")]
    assert len(planned) >= 2
    assert feed.backoff.attempt == 0  # planned reconnects do not back off


def _binance_stream_with_gap():
    """Payloads of the first 8000 BTC messages (the in-line REST snapshot removed), the index of
    the depth message dropped, and the reference books a correct resync must reproduce."""
    payloads = [line.split(b" ", 1)[1] for line in recording_lines(BTC_2024)[:8000]]
    payloads = [p for p in payloads if b'"lastUpdateId"' not in p]
    depth = [i for i, p in enumerate(payloads) if b"depthUpdate" in p]
    dropped = depth[len(depth) // 2]
    after_gap = depth[len(depth) // 2 + 1]

    # Reference: the unmodified stream, seeded from its first depth event.
    market = MarketState()
    ref = BinanceHandler(EventBus(), market)
    snapshots = []
    for i, p in enumerate(payloads):
        ref.on_message(p, 0.0)
        if i in (depth[0], after_gap):
            book = market.book("binance", "BTCUSDT")
            u = orjson.loads(p)["data"]["u"]
            snapshots.append({"lastUpdateId": u, "E": 0, "T": 0,
                              "bids": [[repr(k), repr(v)] for k, v in book.bids.items()],
                              "asks": [[repr(k), repr(v)] for k, v in book.asks.items()]})
    final = market.book("binance", "BTCUSDT")
    sent = [p for i, p in enumerate(payloads) if i != dropped]
    return sent, snapshots, (dict(final.bids), dict(final.asks))


def test_binance_gap_resyncs_from_rest_snapshot_following_binance_procedure():
    sent, snapshots, (ref_bids, ref_asks) = _binance_stream_with_gap()
    requests = []

    async def depth(request):
        requests.append(dict(request.query))
        body = snapshots[min(len(requests), len(snapshots)) - 1]
        return web.json_response(body)

    async def scenario():
        async def stream(ws):
            for p in sent:
                await ws.send(p.decode())
            await asyncio.Future()  # stay connected

        server, port = await _ws_server(stream)
        app = web.Application()
        app.router.add_get("/fapi/v1/depth", depth)
        runner, http_port = await _http_server(app)
        bus, market, api = EventBus(), MarketState(), None
        api = ApiStats(bus)
        feed, bus, market = _live("binance", port, http_port, bus, market, api)
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        try:
            await _until(lambda: market.feed("binance").messages == len(sent)
                         and len(seen[events.FeedResynced]) == 1 and len(requests) == 2, timeout=10)
        except AssertionError:
            raise AssertionError(f"messages {market.feed('binance').messages}/{len(sent)}, requests {requests}, "
                                 f"resynced {seen[events.FeedResynced]}, api {api.snapshot()}, "
                                 f"{market.feed('binance').snapshot()}")
        await asyncio.sleep(0.05)
        book = market.book("binance", "BTCUSDT")
        result = dict(book.bids), dict(book.asks)
        await _stop(task)
        server.close()
        await runner.cleanup()
        return result, market, seen, api

    (bids, asks), market, seen, api = asyncio.run(scenario())
    assert requests[0] == {"symbol": "BTCUSDT", "limit": "1000"}
    assert market.feed("binance").sequence_gaps == {"BTCUSDT": 1}
    assert "sequence gap" in seen[events.FeedResynced][0].reason
    assert api.snapshot()[("binance", "depth_snapshot", "ok")] == 2
    assert [e.endpoint for e in seen[events.ApiRequest]] == ["depth_snapshot", "depth_snapshot"]
    assert bids == ref_bids and asks == ref_asks  # the resynced book equals the true book


def test_dns_failure_is_reported_and_retried(caplog):
    async def scenario():
        bus, market = EventBus(), MarketState()
        feed = make_feeds("live", ["binance"], ["BTCUSDT"], bus, market,
                          endpoints={"binance": {"ws_base": "ws://does-not-exist.invalid",
                                                 "rest_base": "http://does-not-exist.invalid"}})[0]
        feed.backoff = Backoff(**FAST)
        task = asyncio.create_task(feed.run())
        await _until(lambda: feed.backoff.attempt >= 3 and market.feed("binance").state == "backoff")
        snapshot = market.feed("binance").snapshot()
        await _stop(task)
        return snapshot

    with caplog.at_level(logging.WARNING, logger="trader.feeds"):
        snapshot = asyncio.run(scenario())
    assert snapshot.state == "backoff"
    assert snapshot.last_error.startswith("DNS failure"), snapshot.last_error
    assert len(caplog.records) == 1


def test_depth_snapshot_refused_451_keeps_streaming_and_retries(caplog):
    payloads = [line.split(b" ", 1)[1] for line in recording_lines(BTC_2024)[:400]]
    payloads = [p for p in payloads if b'"lastUpdateId"' not in p]
    hits = []

    async def refuse(request):
        hits.append(request.path)
        return web.Response(status=451, text="restricted location")

    async def scenario():
        async def stream(ws):
            for p in payloads:
                await ws.send(p.decode())
            await asyncio.Future()

        server, port = await _ws_server(stream)
        app = web.Application()
        app.router.add_get("/fapi/v1/depth", refuse)
        runner, http_port = await _http_server(app)
        bus, market = EventBus(), MarketState()
        api = ApiStats(bus)
        feed, bus, market = _live("binance", port, http_port, bus, market, api)
        feed.snapshot_backoff = lambda: Backoff(**FAST)  # fast retries of the snapshot
        seen = Recorder(bus)
        task = asyncio.create_task(feed.run())
        await _until(lambda: len(hits) >= 3 and market.feed("binance").messages == len(payloads))
        snapshot = market.feed("binance").snapshot()
        await _stop(task)
        server.close()
        await runner.cleanup()
        return snapshot, api, seen, market

    with caplog.at_level(logging.WARNING, logger="trader.feeds"):
        snapshot, api, seen, market = asyncio.run(scenario())
    assert snapshot.connected and snapshot.state == "connected"  # quotes and trades still flow
    assert snapshot.last_error.startswith("HTTP 451") and "depth snapshot" in snapshot.last_error
    assert api.snapshot()[("binance", "depth_snapshot", "error")] >= 3
    assert len(seen[events.Quote]) > 0
    assert len(market.book("binance", "BTCUSDT")) == 0  # no book until a snapshot arrives
    assert len([r for r in caplog.records if "depth snapshot failed" in r.getMessage()]) == 1
