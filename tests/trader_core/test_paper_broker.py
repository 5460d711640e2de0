"""The paper broker against hand-checked numbers: book walking, fees, slippage, order types,
funding, liquidation, simulated API failures."""

import math

import pytest

from trader.events import (
    ApiRequest, FundingPaid, OrderAccepted, OrderCanceled, OrderFilled, OrderRejected, OrderSubmitted,
    PositionClosed, PositionLiquidated,
)
from tests.trader_core.paper_fixtures import Desk
from trader.vocabulary import PLACEMENT_FAILURE_REASONS, REJECT_REASONS


def test_market_buy_walks_the_book_and_pays_taker_fee():
    desk = Desk()
    desk.quote(99.0, 100.0, ask_qty=1.0, book=([(99.0, 5.0)], [(100.0, 1.0), (101.0, 2.0)]))
    order = desk.submit("buy", "market", 1.5)
    (fill,) = desk.of(OrderFilled)
    # 1 @ 100 + 0.5 @ 101 = 150.5 for 1.5: VWAP 100.3333
    assert fill.price == pytest.approx(150.5 / 1.5)
    assert fill.fee == pytest.approx(150.5 * 0.0005)  # 0.07525 USDT taker fee
    assert fill.liquidity == "taker"
    # mid at submission 99.5; adverse slippage (100.3333 - 99.5) / 99.5 = 83.75 bps
    assert fill.slippage_bps == pytest.approx((150.5 / 1.5 - 99.5) / 99.5 * 1e4)
    assert order.status == "filled"
    assert [type(e).__name__ for e in desk.events if not isinstance(e, ApiRequest)] == [
        "OrderSubmitted", "OrderAccepted", "OrderFilled"]
    assert desk.account.orders[("binance", "BTCUSDT", "buy", "submitted")] == 1
    assert desk.account.orders[("binance", "BTCUSDT", "buy", "filled")] == 1
    assert desk.account.orders_by_type[("binance", "market", "filled")] == 1
    assert desk.api.snapshot()[("binance", "order", "ok")] == 1
    position = desk.account.positions[("binance", "BTCUSDT")]
    assert position.quantity == 1.5 and position.margin == pytest.approx(150.5 / 10)


def test_slippage_models_add_to_the_book_price():
    for model, expected_extra in (("fixed", 0.0005), ("linear", 0.0005 * 2.0), ("sqrt", 0.0005 * math.sqrt(2.0))):
        desk = Desk(base_slippage_ratio=0.0005, slippage_model=model)
        desk.quote(99.0, 100.0, ask_qty=1.0)  # no depth: the best ask only; q = 2 / 1
        desk.submit("buy", "market", 2.0)
        assert desk.of(OrderFilled)[0].price == pytest.approx(100.0 * (1 + expected_extra)), model


def test_limit_order_rests_then_fills_as_maker_at_its_price():
    desk = Desk()
    desk.quote(99.0, 100.0)
    order = desk.submit("buy", "limit", 1.0, 98.0)
    assert order.status == "open" and not desk.of(OrderFilled)
    desk.quote(97.0, 97.5)  # the ask came down through our bid
    (fill,) = desk.of(OrderFilled)
    assert (fill.price, fill.liquidity, fill.slippage_bps) == (98.0, "maker", None)
    assert fill.fee == pytest.approx(98.0 * 0.0002)  # maker 0.02 %


def test_marketable_limit_takes_up_to_its_price_only():
    desk = Desk()
    desk.quote(99.0, 100.0, book=([], [(100.0, 1.0), (102.0, 5.0)]))
    order = desk.submit("buy", "limit", 2.0, 100.5)
    fill = desk.of(OrderFilled)[0]
    assert fill.liquidity == "taker" and fill.price <= 100.5
    assert order.status == "filled"


def test_post_only_that_would_cross_is_rejected():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("buy", "post_only", 1.0, 100.0)
    (rejected,) = desk.of(OrderRejected)
    assert rejected.reason == "post_only_would_take"
    assert desk.account.orders_by_type[("binance", "post_only", "rejected")] == 1
    resting = desk.submit("buy", "post_only", 1.0, 99.0)
    assert resting.status == "open"


def test_stop_triggers_when_the_mid_crosses_and_fills_as_taker():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 1.0)
    stop = desk.submit("sell", "stop", 1.0, 95.0, reduce_only=True)
    desk.quote(96.0, 96.5)
    assert stop.status == "open"
    desk.quote(94.0, 94.5)  # mid 94.25 <= 95
    assert stop.status == "filled"
    assert desk.of(OrderFilled)[-1].price == 94.0
    closed = desk.of(PositionClosed)[-1]
    # bought at 100 (fee 0.05), sold at 94 (fee 0.047): -6 - 0.097
    assert closed.realized_pnl == pytest.approx(-6.0 - 0.05 - 0.047)
    assert ("binance", "BTCUSDT") not in desk.account.positions


def test_stop_slippage_is_measured_from_the_mid_when_it_triggered():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 1.0)
    desk.submit("sell", "stop", 1.0, 95.0, reduce_only=True)  # placed at mid 99.5
    desk.quote(94.0, 94.5)  # mid 94.25 crosses the stop; the bid 94.0 fills it
    fill = desk.of(OrderFilled)[-1]
    assert fill.order_type == "stop" and fill.price == 94.0
    # (94.25 - 94.0) / 94.25 = 26.5 bps; from the mid at placement it would read 552.8 bps
    assert fill.slippage_bps == pytest.approx((94.25 - 94.0) / 94.25 * 1e4)
    assert fill.slippage_bps == pytest.approx(26.53, abs=0.01)


def test_reduce_only_is_trimmed_to_the_position_and_rejected_without_one():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("sell", "market", 1.0, reduce_only=True)
    assert desk.of(OrderRejected)[-1].reason == "reduce_only"
    desk.submit("buy", "market", 1.0)
    exit_order = desk.submit("sell", "market", 3.0, reduce_only=True)
    assert exit_order.quantity == 1.0 and exit_order.status == "filled"
    assert ("binance", "BTCUSDT") not in desk.account.positions


def test_resting_reduce_only_orders_are_canceled_when_the_position_closes():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 1.0)
    take_profit = desk.submit("sell", "limit", 1.0, 110.0, reduce_only=True)
    desk.submit("sell", "market", 1.0, reduce_only=True)
    assert take_profit.status == "canceled"
    assert desk.of(OrderCanceled)[-1].reason == "reduce_only_position_closed"


def test_cancel_goes_through_the_api_and_counts():
    desk = Desk()
    desk.quote(99.0, 100.0)
    order = desk.submit("buy", "limit", 1.0, 90.0)
    desk.broker.cancel(order.order_id)
    assert order.status == "canceled"
    assert desk.api.snapshot()[("binance", "cancel", "ok")] == 1
    assert desk.account.orders[("binance", "BTCUSDT", "buy", "canceled")] == 1


def test_round_trip_pnl_fees_balance_and_equity():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 2.0)  # 200 notional, fee 0.1
    desk.mark(105.0)
    assert desk.account.unrealized() == pytest.approx(10.0)
    assert desk.account.equity() == pytest.approx(10_000 - 0.1 + 10.0)
    desk.quote(110.0, 111.0)
    desk.submit("sell", "market", 2.0, reduce_only=True)  # 220 notional, fee 0.11
    snap = desk.account.snapshot(desk.clock())
    assert snap.realized_pnl_usdt == pytest.approx(20.0)
    assert snap.commission_usdt == {"binance": pytest.approx(0.21)}
    assert snap.balance_usdt == pytest.approx(10_000 + 20.0 - 0.21)
    assert desk.of(PositionClosed)[-1].realized_pnl == pytest.approx(19.79)
    assert snap.win_rate == 1.0 and snap.profit_factor is None
    assert snap.volume_usdt[("binance", "BTCUSDT")] == pytest.approx(420.0)


def test_funding_is_paid_at_the_announced_funding_time():
    desk = Desk()
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 2.0)
    t0 = desk.clock()
    desk.mark(100.0, rate=0.0001, next_funding_ts=t0 + 60, ts=t0)
    desk.mark(100.0, rate=0.0001, next_funding_ts=t0 + 60, ts=t0 + 30)
    assert not desk.of(FundingPaid)
    desk.mark(100.0, rate=0.0002, next_funding_ts=t0 + 8 * 3600, ts=t0 + 61)
    (paid,) = desk.of(FundingPaid)
    # a long of 2 at mark 100 pays 0.01 % (the rate announced for that funding time): -0.02 USDT
    assert paid.amount == pytest.approx(-0.02) and paid.rate == 0.0001
    assert desk.account.funding_pnl == pytest.approx(-0.02)


def test_liquidation_when_the_mark_crosses_the_liquidation_price():
    desk = Desk(maintenance_margin_ratio=0.005)
    desk.quote(99.9, 100.0)
    desk.submit("buy", "market", 1.0, leverage=10.0)
    position = desk.account.positions[("binance", "BTCUSDT")]
    assert position.liquidation_price == pytest.approx(90.5)  # 100 * (1 - 1/10 + 0.005)
    desk.mark(91.0)
    assert not desk.of(PositionLiquidated)
    desk.mark(90.4)
    (liq,) = desk.of(PositionLiquidated)
    assert liq.loss == pytest.approx(10.0)  # the isolated margin, 100 / 10
    assert desk.account.liquidations[("binance", "BTCUSDT")] == 1
    assert desk.account.balance == pytest.approx(10_000 - 0.05 - 10.0)


def test_short_liquidation_price():
    desk = Desk(maintenance_margin_ratio=0.005)
    desk.quote(100.0, 100.1)
    desk.submit("sell", "market", 1.0, leverage=5.0)
    assert desk.account.positions[("binance", "BTCUSDT")].liquidation_price == pytest.approx(119.5)  # 100 * (1 + 0.2 - 0.005)


def test_api_failures_reject_orders_and_count_as_errors():
    desk = Desk(reject_probability=1.0)
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 1.0)
    assert desk.of(OrderRejected)[-1].reason == "api_error"
    assert not desk.of(OrderAccepted)
    assert desk.api.snapshot()[("binance", "order", "error")] == 1
    assert desk.of(ApiRequest)[-1].ok is False


def test_partial_fills_leave_the_rest_working():
    desk = Desk(partial_fill_probability=1.0)
    desk.quote(99.0, 100.0)
    order = desk.submit("buy", "limit", 2.0, 98.0)
    desk.quote(97.0, 97.5)
    assert [f.remaining for f in desk.of(OrderFilled)] == [1.0]
    assert order.status == "open"
    desk.quote(97.0, 97.5)
    assert [f.remaining for f in desk.of(OrderFilled)] == [1.0, 0.5]


def test_insufficient_margin_is_rejected_by_the_exchange():
    desk = Desk(balance=100.0)
    desk.quote(99.0, 100.0)
    desk.broker.gate.check = lambda *a, **k: None  # past the risk gate: the exchange itself refuses
    desk.submit("buy", "market", 20.0, leverage=10.0)  # 2,000 notional needs 200 margin
    assert desk.of(OrderRejected)[-1].reason == "insufficient_margin"
    assert isinstance(desk.of(OrderSubmitted)[-1], OrderSubmitted)


def _reject_for(reason: str) -> Desk:
    """A desk whose one order was rejected for ``reason``, through the broker's real checks."""
    desk = Desk(reject_probability=1.0 if reason == "api_error" else 0.0,
                balance=100.0 if reason == "insufficient_margin" else 10_000.0)
    desk.quote(99.0, 100.0)
    if reason == "insufficient_margin":
        desk.broker.gate.check = lambda *a, **k: None  # past the risk gate: the exchange refuses
        desk.submit("buy", "market", 20.0)
    elif reason == "reduce_only":
        desk.submit("sell", "market", 1.0, reduce_only=True)  # no position left to reduce
    elif reason == "post_only_would_take":
        desk.submit("buy", "post_only", 1.0, 100.0)
    else:
        desk.submit("buy", "market", 1.0)
    return desk


@pytest.mark.parametrize("reason", REJECT_REASONS)
def test_rejections_are_counted_by_exchange_and_reason_in_the_snapshot(reason):
    desk = _reject_for(reason)
    assert [e.reason for e in desk.of(OrderRejected)] == [reason]
    assert desk.account.snapshot(desk.clock()).rejections == {("binance", reason): 1}


@pytest.mark.parametrize("reason", REJECT_REASONS)
def test_a_placement_failure_is_an_ordinary_order_refused_and_the_rest_are_the_order_type_working(reason):
    # What TraderOrderFailuresHigh counts: an order that asked to trade and could not. A
    # reduce-only order with no position left, or a post-only order that would take, was
    # refused by what it is; the alert must not count those.
    desk = _reject_for(reason)
    [submitted] = desk.of(OrderSubmitted)
    working_as_designed = submitted.reduce_only or submitted.order_type == "post_only"
    assert (reason in PLACEMENT_FAILURE_REASONS) is not working_as_designed
    assert desk.account.positions == {}  # refused, whatever the reason: nothing traded
    assert Desk().account.snapshot(0.0).rejections == {}
