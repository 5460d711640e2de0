"""``parse_side`` (Binance depth, the replay's fast path) accepts and rejects exactly as ``parse_levels``.

A depth message the fast path let through but ``parse_levels`` refuses (or the other way round)
would change the book or the rejection counts; so would an error of another kind or message.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trader.book import OrderBook, parse_levels, parse_side

_number_text = st.sampled_from(["61800.20", "0.000", "2.507", "0", "-1", "NaN", "nan", "inf", "-inf", "1e309",
                                "1e308", "", "abc", " 5 ", "0.0001"])
_level = st.lists(_number_text | st.none() | st.integers(-5, 5) | st.floats(), min_size=0, max_size=4)
_side = st.lists(_level | _number_text | st.none(), max_size=6)


def _outcome(parse, raw):
    try:
        return "ok", parse(raw)
    except Exception as exc:  # noqa: BLE001 - the kind and text of the error are what is compared
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(raw=_side)
def test_parse_side_matches_parse_levels(raw):
    expected = _outcome(parse_levels, raw)
    got = _outcome(parse_side, raw)
    if expected[0] == "ok":
        assert got[0] == "ok"
        prices, quantities = got[1]
        assert list(zip(prices, quantities)) == expected[1]
    else:
        assert got == expected


def test_a_recorded_depth_update_builds_the_same_book_either_way():
    bids = [["61631.70", "0.283"], ["61632.60", "0.000"], ["61630.10", "1.5"]]
    asks = [["61640.00", "2"], ["61641.00", "0.000"]]
    slow, fast = OrderBook(), OrderBook()
    slow.apply(parse_levels(bids), parse_levels(asks))
    fast.apply(zip(*parse_side(bids)), zip(*parse_side(asks)))
    assert (slow.bids, slow.asks, slow.best_bid(), slow.best_ask()) == \
        (fast.bids, fast.asks, fast.best_bid(), fast.best_ask()) == \
        ({61631.7: 0.283, 61630.1: 1.5}, {61640.0: 2.0}, 61631.7, 61640.0)
