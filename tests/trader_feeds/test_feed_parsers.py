"""Each exchange's real message shapes, parsed into events and state.

Binance and OKX messages come from the real recordings in shared/data. Messages the
recordings lack (mark price, liquidations, OKX funding) and every Bybit message are written from
the exchanges' documentation and marked DOCUMENTED SHAPE below: no real capture of them is
stored in this repository.
"""

from __future__ import annotations

import math

import orjson
import pytest
from tests.trader_feeds.feeds_testkit import BINANCE_2021, BTC_2024, OKX_2022, Recorder, first_line

from trader import events
from trader.bus import EventBus
from trader.feeds.binance import BinanceHandler
from trader.feeds.bybit import BybitHandler
from trader.feeds.okx import OkxHandler, okx_inst_id, okx_symbol
from trader.market import MarketState


def _handler(cls):
    bus, market = EventBus(), MarketState()
    return cls(bus, market), Recorder(bus), market


# --- Binance (real) -----------------------------------------------------------------------

def test_binance_book_ticker_trade_and_depth_from_the_recording():
    h, seen, market = _handler(BinanceHandler)
    h.on_message(first_line(BTC_2024, b'"e":"bookTicker"'), 100.0)
    h.on_message(first_line(BTC_2024, b'"e":"trade"'), 101.0)
    h.on_message(first_line(BTC_2024, b'"e":"depthUpdate"'), 102.0)
    q = seen[events.Quote][0]
    assert (q.exchange, q.symbol, q.bid, q.bid_quantity, q.ask, q.ask_quantity) == (
        "binance", "BTCUSDT", 61800.2, 2.507, 61800.3, 2.510)
    assert q.ts == 1723161256.313 and q.recv_ts == 100.0
    t = seen[events.Trade][0]
    assert (t.price, t.quantity, t.side, t.ts) == (61800.3, 0.006, "buy", 1723161256.322)  # m=false: buyer took
    d = seen[events.DepthUpdate][0]
    assert (d.symbol, d.ts) == ("BTCUSDT", 1723161256.299)
    book = market.book("binance", "BTCUSDT")
    assert book.best_bid() == 61800.2 and book.best_ask() == 61800.3
    assert 61510.9 not in book.bids  # "0.000" levels are deletions, never stored
    state = market.get("binance", "BTCUSDT")
    assert state.last_message_ts == 102.0 and state.last_price == 61800.3
    assert h.stats.messages == 3 and sum(h.stats.rejected.values()) == 0


def test_binance_agg_trade_and_kline_from_the_2021_capture():
    h, seen, market = _handler(BinanceHandler)
    raw = first_line(BINANCE_2021, b"aggTrade").split(b": ", 1)[-1]
    h.on_message(first_line(BINANCE_2021, b"aggTrade"), 1.0)
    h.on_message(first_line(BINANCE_2021, b"kline_1m"), 1.0)
    t = seen[events.Trade][0]
    msg = orjson.loads(raw)["data"]
    assert t.symbol == msg["s"] and t.price == float(msg["p"]) and t.side == ("sell" if msg["m"] else "buy")
    assert h.counts["ignored"] == 1 and sum(h.stats.rejected.values()) == 0


def test_binance_mark_price_and_force_order():
    h, seen, market = _handler(BinanceHandler)
    # DOCUMENTED SHAPE (Binance USDⓈ-M "Mark Price Stream", combined-stream envelope)
    h.on_message(b'{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,'
                 b'"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265",'
                 b'"r":"0.00038167","T":1562306400000}}', 1.0)
    m = seen[events.MarkPrice][0]
    assert (m.mark_price, m.index_price, m.funding_rate, m.next_funding_ts) == (
        11794.15, 11784.62659091, 0.00038167, 1562306400.0)
    assert market.mark_price("binance", "BTCUSDT") == 11794.15
    assert market.funding_rate("binance", "BTCUSDT") == 0.00038167
    # DOCUMENTED SHAPE (Binance USDⓈ-M "Liquidation Order Streams")
    h.on_message(b'{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,"o":{'
                 b'"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910",'
                 b'"X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}', 2.0)
    liq = seen[events.MarketLiquidation][0]
    assert (liq.symbol, liq.side, liq.price, liq.quantity, liq.ts) == ("BTCUSDT", "sell", 9910.0, 0.014, 1568014460.893)
    assert market.get("binance", "BTCUSDT").liquidations == {"buy": 0, "sell": 1}


def test_binance_subscribe_ack_is_control_not_rejected():
    h, seen, _ = _handler(BinanceHandler)
    h.on_message(b'{"result":null,"id":1}', 1.0)
    assert h.counts["control"] == 1 and sum(h.stats.rejected.values()) == 0


# --- OKX (real) ---------------------------------------------------------------------------

def test_okx_symbol_mapping():
    assert okx_symbol("BTC-USDT-SWAP") == "BTCUSDT"
    assert okx_symbol("BTC-USDT") == "BTCUSDT"
    assert okx_symbol("BTC-USD-220527") == "BTCUSD_220527"
    assert okx_inst_id("BTCUSDT") == "BTC-USDT-SWAP"
    with pytest.raises(ValueError, match="BTCUSD"):
        okx_inst_id("BTCUSD")


def test_okx_trades_tickers_and_books_from_the_recording():
    h, seen, market = _handler(OkxHandler)
    lines = [l.split(b": ", 1)[1] for l in OKX_2022.read_bytes().splitlines() if l[:1].isdigit()]
    trade = next(l for l in lines if b'"channel":"trades","instId":"BTC-USDT"},"data"' in l)
    ticker = next(l for l in lines if b'"channel":"tickers","instId":"BTC-USDT"},"data"' in l)
    snapshot = next(l for l in lines if b'"instId":"BTC-USDT"},"action":"snapshot"' in l)
    update = next(l for l in lines if b'"instId":"BTC-USDT"},"action":"update"' in l)
    for raw in (trade, ticker, snapshot, update):
        h.on_message(raw, 5.0)
    t = seen[events.Trade][0]
    assert (t.exchange, t.symbol, t.price, t.quantity, t.side, t.ts) == (
        "okx", "BTCUSDT", 30236.0, 0.0002, "buy", 1652459224.818)
    q = seen[events.Quote][0]
    assert (q.bid, q.ask, q.bid_quantity) == (30228.6, 30228.7, 0.23393)
    book = market.book("okx", "BTCUSDT")
    expected = orjson.loads(update)["data"][0]
    for price, size, *_ in expected["asks"]:
        if float(size) == 0:
            assert float(price) not in book.asks
        else:
            assert book.asks[float(price)] == float(size)
    assert book.best_bid() < book.best_ask()
    assert len(seen[events.DepthUpdate]) == 2 and sum(h.stats.rejected.values()) == 0


def test_okx_books_update_before_snapshot_is_not_applied_and_pong_is_control():
    h, seen, market = _handler(OkxHandler)
    h.on_message(b'{"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"update","data":[{"asks":'
                 b'[["100","1","0","1"]],"bids":[],"ts":"1","checksum":0}]}', 1.0)
    h.on_message("pong", 1.0)
    assert len(market.book("okx", "BTCUSDT")) == 0 and h.counts["control"] == 1
    assert sum(h.stats.rejected.values()) == 0


def test_okx_seq_id_gap_is_counted():
    h, seen, market = _handler(OkxHandler)
    gaps = []
    h.on_gap = gaps.append

    def books(action, seq, prev, bid):
        return orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": action,
                             "data": [{"asks": [["101", "1", "0", "1"]], "bids": [[bid, "1", "0", "1"]],
                                       "ts": "1", "seqId": seq, "prevSeqId": prev}]})
    h.on_message(books("snapshot", 10, -1, "99"), 1.0)
    h.on_message(books("update", 11, 10, "99.5"), 1.0)
    h.on_message(books("update", 13, 12, "99.6"), 1.0)  # 12 missing
    assert h.stats.sequence_gaps == {"BTCUSDT": 1} and gaps == ["BTC-USDT-SWAP"]
    assert seen[events.FeedResynced] == []  # published once a fresh snapshot has rebuilt the book
    assert len(market.book("okx", "BTCUSDT")) == 0  # waits for a fresh snapshot
    h.on_message(books("snapshot", 20, -1, "99.7"), 1.0)
    assert len(seen[events.FeedResynced]) == 1 and len(market.book("okx", "BTCUSDT")) == 2


def test_okx_mark_funding_and_liquidations():
    h, seen, market = _handler(OkxHandler)
    # DOCUMENTED SHAPES (OKX v5 public "Mark price", "Funding rate", "Liquidation orders" channels)
    h.on_message(b'{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":'
                 b'"0.0001875391284828","fundingTime":"1700726400000","instId":"BTC-USDT-SWAP",'
                 b'"instType":"SWAP","method":"current_period","nextFundingTime":"1700755200000",'
                 b'"ts":"1700724675402"}]}', 1.0)
    h.on_message(b'{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP",'
                 b'"instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}]}', 1.0)
    h.on_message(b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{'
                 b'"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13",'
                 b'"ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP",'
                 b'"instType":"SWAP","uly":"IOST-USDT"}]}', 1.0)
    m = seen[events.MarkPrice][-1]
    assert (m.symbol, m.mark_price, m.funding_rate, m.next_funding_ts) == (
        "BTCUSDT", 42310.6, 0.0001875391284828, 1700726400.0)
    liq = seen[events.MarketLiquidation][0]
    assert (liq.symbol, liq.side, liq.price, liq.quantity) == ("IOSTUSDT", "buy", 0.007831, 13.0)
    assert sum(h.stats.rejected.values()) == 0


# --- Bybit (DOCUMENTED SHAPES: Bybit v5 public WebSocket docs; no real capture stored) ------

BYBIT_TRADE = (b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,'
               b'"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
               b'"i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}')
BYBIT_BOOK_SNAPSHOT = (b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT",'
                       b'"b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],'
                       b'["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}')
BYBIT_BOOK_DELTA = (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1672304484979,"data":{"s":"BTCUSDT",'
                    b'"b":[["16493.50","0"],["16493.20","0.500"]],"a":[["16611.00","0.100"]],'
                    b'"u":18521289,"seq":7961638725},"cts":1672304484977}')
BYBIT_TICKER_SNAPSHOT = (b'{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":'
                         b'"PlusTick","price24hPcnt":"0.017103","lastPrice":"17216.00","prevPrice24h":"16926.50",'
                         b'"highPrice24h":"17281.50","lowPrice24h":"16915.00","prevPrice1h":"17238.00",'
                         b'"markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761",'
                         b'"openInterestValue":"1183601235.91","turnover24h":"1570383121.943499",'
                         b'"volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212",'
                         b'"bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},'
                         b'"cs":24987956059,"ts":1673272861686}')
BYBIT_TICKER_DELTA = (b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"17215.00",'
                      b'"bid1Size":"10.000"},"cs":24987956060,"ts":1673272861700}')
BYBIT_LIQUIDATION = (b'{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{'
                     b'"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}')
BYBIT_PONG = b'{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}'
BYBIT_SUBSCRIBED = b'{"success":true,"ret_msg":"","conn_id":"3cd84cb1-4d06-4a05-930a-2efe5fc70f0f","req_id":"","op":"subscribe"}'


def test_bybit_documented_messages():
    h, seen, market = _handler(BybitHandler)
    for raw in (BYBIT_SUBSCRIBED, BYBIT_TRADE, BYBIT_BOOK_SNAPSHOT, BYBIT_BOOK_DELTA, BYBIT_TICKER_SNAPSHOT,
                BYBIT_TICKER_DELTA, BYBIT_LIQUIDATION, BYBIT_PONG):
        h.on_message(raw, 9.0)
    assert sum(h.stats.rejected.values()) == 0
    assert h.counts["control"] == 2
    t = seen[events.Trade][0]
    assert (t.exchange, t.symbol, t.price, t.quantity, t.side, t.ts) == (
        "bybit", "BTCUSDT", 16578.5, 0.001, "buy", 1672304486.865)
    book = market.book("bybit", "BTCUSDT")
    assert book.bids == {16493.0: 0.1, 16493.2: 0.5} and book.asks == {16611.0: 0.1, 16612.0: 0.213}
    quotes = seen[events.Quote]
    assert (quotes[0].bid, quotes[0].ask) == (17215.5, 17216.0)
    assert (quotes[1].bid, quotes[1].bid_quantity, quotes[1].ask) == (17215.0, 10.0, 17216.0)  # delta merged
    m = seen[events.MarkPrice][0]
    assert (m.mark_price, m.index_price, m.funding_rate, m.next_funding_ts) == (17217.33, 17227.36, -0.000212, 1673280000.0)
    liq = seen[events.MarketLiquidation][0]
    assert (liq.symbol, liq.side, liq.price, liq.quantity) == ("ROSEUSDT", "buy", 0.04499, 20000.0)  # a short was liquidated


def test_bybit_delta_before_snapshot_is_not_applied():
    h, seen, market = _handler(BybitHandler)
    h.on_message(BYBIT_BOOK_DELTA, 1.0)
    assert len(market.book("bybit", "BTCUSDT")) == 0 and seen[events.DepthUpdate] == []


# --- bad values ---------------------------------------------------------------------------

BAD_VALUES = ["NaN", "nan", "inf", "-inf", "Infinity", "-1", "0", "-0.0"]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_non_finite_or_non_positive_prices_are_rejected(value):
    cases = [
        (BinanceHandler, f'{{"stream":"x","data":{{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"{value}","B":"1",'
                         f'"a":"10","A":"1","T":1,"E":1}}}}', events.Quote),
        (BinanceHandler, f'{{"stream":"x","data":{{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":1,"p":"{value}",'
                         f'"q":"1","X":"MARKET","m":false}}}}', events.Trade),
        (BinanceHandler, f'{{"stream":"x","data":{{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":1,"u":2,'
                         f'"pu":0,"b":[["{value}","1"]],"a":[]}}}}', events.DepthUpdate),
        (BinanceHandler, f'{{"stream":"x","data":{{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"{value}",'
                         f'"i":"1","P":"1","r":"0.0001","T":1}}}}', events.MarkPrice),
        (OkxHandler, f'{{"arg":{{"channel":"trades","instId":"BTC-USDT-SWAP"}},"data":[{{"instId":"BTC-USDT-SWAP",'
                     f'"tradeId":"1","px":"{value}","sz":"1","side":"buy","ts":"1"}}]}}', events.Trade),
        (OkxHandler, f'{{"arg":{{"channel":"books5","instId":"BTC-USDT-SWAP"}},"data":[{{"asks":[["{value}","1","0","1"]],'
                     f'"bids":[],"ts":"1"}}]}}', events.DepthUpdate),
        (BybitHandler, f'{{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{{"T":1,"s":"BTCUSDT",'
                       f'"S":"Buy","v":"1","p":"{value}","BT":false}}]}}', events.Trade),
        (BybitHandler, f'{{"topic":"tickers.BTCUSDT","type":"delta","data":{{"symbol":"BTCUSDT",'
                       f'"bid1Price":"{value}"}},"ts":1}}', events.Quote),
    ]
    for cls, raw, event_type in cases:
        h, seen, market = _handler(cls)
        h.on_message(raw, 1.0)
        assert h.stats.rejected["invalid_value"] == 1, (cls.__name__, raw)
        assert seen[event_type] == [], raw
        assert len(seen[events.MessageRejected]) == 1 and seen[events.MessageRejected][0].reason == "invalid_value"
        state = market.get(h.exchange, "BTCUSDT")
        if state is not None:
            assert state.bid is None and state.last_price is None and len(state.book) == 0


def test_parse_error_and_schema_are_counted_apart():
    h, seen, market = _handler(BinanceHandler)
    h.on_message(b"{not json", 1.0)
    h.on_message(b'{"stream":"x","data":{"e":"bookTicker","s":"BTCUSDT"}}', 1.0)  # fields missing
    h.on_message(b'{"stream":"x","data":{"e":"trade","s":"BTCUSDT","p":"abc","q":"1","T":1,"m":true}}', 1.0)
    assert h.stats.rejected == {"parse_error": 1, "schema": 2, "invalid_value": 0}
    assert h.stats.messages == 3
    assert not any(math.isnan(e.ts) for e in seen[events.MessageRejected])


def test_okx_liquidations_of_other_instruments_are_ignored_live():
    h, seen, market = _handler(OkxHandler)
    h.instruments = {"BTC-USDT-SWAP"}
    h.on_message(b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{'
                 b'"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13",'
                 b'"ts":"1692266434010"}],"instId":"IOST-USDT-SWAP","instType":"SWAP"}]}', 1.0)
    assert seen[events.MarketLiquidation] == [] and market.symbols() == [] and h.counts["ignored"] == 1
