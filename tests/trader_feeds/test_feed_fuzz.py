"""Property-based fuzzing of every message parser: nothing escapes, every bad message is counted."""

from __future__ import annotations

import orjson
from tests.trader_feeds.feeds_testkit import BTC_2024, OKX_2022, first_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trader.bus import EventBus
from trader.feeds.binance import BinanceHandler
from trader.feeds.bybit import BybitHandler
from trader.feeds.okx import OkxHandler
from trader.market import MarketState
from tests.trader_feeds.test_feed_parsers import BYBIT_BOOK_SNAPSHOT, BYBIT_LIQUIDATION, BYBIT_TICKER_SNAPSHOT, BYBIT_TRADE

HANDLERS = (BinanceHandler, BybitHandler, OkxHandler)

_OKX_LINES = [l.split(b": ", 1)[1] for l in OKX_2022.read_bytes().splitlines() if l[:1].isdigit()]
SEEDS = {
    BinanceHandler: [first_line(BTC_2024, k) for k in (b'"e":"bookTicker"', b'"e":"trade"', b'"e":"depthUpdate"')]
    + [b'{"stream":"x","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1.5","i":"1","P":"1","r":"0.0001","T":1}}',
       b'{"stream":"x","data":{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"SELL","q":"1","p":"9","ap":"9","z":"1","T":1}}}'],
    OkxHandler: [next(l for l in _OKX_LINES if k in l) for k in (b'"trades"', b'"tickers"', b'"snapshot"', b'"update"')],
    BybitHandler: [BYBIT_TRADE, BYBIT_BOOK_SNAPSHOT, BYBIT_TICKER_SNAPSHOT, BYBIT_LIQUIDATION],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["NaN", "inf", "-1", "0", "1e309", "", "BTCUSDT", "Buy", "snapshot", "delta"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _mutate(value, path: list[int], replacement):
    """Replace one node of a decoded message, chosen by ``path`` (indices taken modulo the size)."""
    if not path or not isinstance(value, (dict, list)) or not value:
        return replacement
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _mutate(value[key], path[1:], replacement)
    return copy


def _fresh(cls):
    return cls(EventBus(), MarketState())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cls=st.sampled_from(HANDLERS), raw=st.binary(max_size=200))
def test_random_bytes_never_escape(cls, raw):
    h = _fresh(cls)
    h.on_message(raw, 1.0)
    assert h.stats.messages == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cls=st.sampled_from(HANDLERS), seed=st.integers(0, 10), path=st.lists(st.integers(0, 50), max_size=5),
       replacement=json_values)
def test_mutated_real_messages_never_escape(cls, seed, path, replacement):
    h = _fresh(cls)
    seeds = SEEDS[cls]
    original = orjson.loads(seeds[seed % len(seeds)])
    mutated = _mutate(original, path, replacement)
    h.on_message(orjson.dumps(mutated), 1.0)
    assert h.stats.messages == 1
    rejected = sum(h.stats.rejected.values())
    handled = sum(h.counts.values())
    assert rejected + handled >= 1  # every message is either handled (by kind) or counted as rejected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cls=st.sampled_from(HANDLERS), value=json_values)
def test_arbitrary_json_never_escapes(cls, value):
    h = _fresh(cls)
    h.on_message(orjson.dumps(value), 1.0)
    assert h.stats.messages == 1


def test_non_json_is_a_parse_error():
    for cls in HANDLERS:
        h = _fresh(cls)
        h.on_message(b"\xff\xfe not json", 1.0)
        assert h.stats.rejected["parse_error"] == 1
