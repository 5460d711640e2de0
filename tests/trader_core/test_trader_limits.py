"""The risk-limits gate: each limit refuses with its reason, publishes RiskRefused and counts;
reduce-only exits always pass."""

import pytest

from trader.config import LimitsConfig
from trader.events import OrderSubmitted, RiskRefused
from tests.trader_core.paper_fixtures import Desk

LIMITS = LimitsConfig(max_drawdown_ratio=0.15, daily_loss_ratio=0.05, var_usdt=500.0, max_leverage=5.0,
                      max_position_usdt=3_000.0, max_open_positions=1)


def refused(desk: Desk) -> list[str]:
    return [e.reason for e in desk.of(RiskRefused)]


def test_orders_within_limits_pass():
    desk = Desk(limits=LIMITS)
    desk.quote(99.0, 100.0)
    assert desk.submit("buy", "market", 10.0, leverage=5.0).status == "filled"
    assert not desk.of(RiskRefused)


@pytest.mark.parametrize("qty, leverage, reason", [
    (31.0, 5.0, "position_size"),  # 3,100 USDT > 3,000
    (10.0, 6.0, "leverage"),  # asks for 6x with a 5x limit
])
def test_size_and_leverage_limits(qty, leverage, reason):
    desk = Desk(limits=LIMITS)
    desk.quote(99.0, 100.0)
    assert desk.submit("buy", "market", qty, leverage=leverage) is None
    assert refused(desk) == [reason]
    assert desk.account.risk_refusals == {reason: 1}
    assert not desk.of(OrderSubmitted)


def test_account_leverage_limit():
    desk = Desk(limits=LimitsConfig(max_leverage=2.0, max_position_usdt=1e9), balance=1_000.0)
    desk.quote(99.0, 100.0)
    assert desk.submit("buy", "market", 25.0, leverage=2.0) is None  # 2,500 notional on 1,000 equity
    assert refused(desk) == ["leverage"]


def test_open_positions_and_margin_limits():
    desk = Desk(limits=LIMITS)
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 1.0, leverage=5.0)
    desk.quote(9.9, 10.0, symbol="ETHUSDT")
    assert desk.broker.submit("s", "binance", "ETHUSDT", "buy", "market", 1.0, leverage=5.0) is None
    assert refused(desk) == ["open_positions"]
    poor = Desk(limits=LimitsConfig(max_leverage=100.0, max_position_usdt=1e9), balance=100.0)
    poor.quote(99.0, 100.0)
    assert poor.submit("buy", "market", 50.0, leverage=1.0) is None  # 5,000 margin on 100
    assert refused(poor) == ["margin"]  # 50x account leverage is allowed here, the margin is not
    lean = Desk(limits=LimitsConfig(max_leverage=100.0, max_position_usdt=1e9), balance=100.0)
    lean.quote(99.0, 100.0)
    assert lean.submit("buy", "market", 5.0, leverage=2.0) is None  # 250 margin on 100 equity, 5x leverage ok
    assert refused(lean) == ["margin"]


def test_drawdown_halt_refuses_new_orders_but_not_exits():
    desk = Desk(limits=LIMITS)
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 20.0, leverage=5.0)
    desk.account.halted_drawdown = True
    assert desk.submit("buy", "market", 1.0, leverage=5.0) is None
    assert refused(desk)[-1] == "max_drawdown"
    assert desk.account.snapshot(desk.clock()).trading_halted


def test_real_drawdown_halts_and_reduce_only_still_exits():
    desk = Desk(limits=LimitsConfig(max_drawdown_ratio=0.15, daily_loss_ratio=0.5, max_position_usdt=1e9,
                                    max_leverage=10.0))
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 100.0, leverage=2.0)  # 10,000 notional
    desk.quote(79.9, 80.0)  # -20 % on the position: -2,000 USDT, 20 % under the peak
    assert desk.account.snapshot(desk.clock()).trading_halted
    assert desk.submit("sell", "market", 1.0, leverage=2.0) is None
    assert refused(desk) == ["max_drawdown"]
    exit_order = desk.submit("sell", "market", 100.0, reduce_only=True, leverage=2.0)
    assert exit_order is not None and exit_order.status == "filled"


def test_daily_loss_halt():
    desk = Desk(limits=LimitsConfig(max_drawdown_ratio=0.5, daily_loss_ratio=0.05, max_position_usdt=1e9))
    desk.quote(99.0, 100.0)
    desk.submit("buy", "market", 50.0, leverage=2.0)
    desk.quote(88.9, 89.0)  # -550 USDT today
    assert desk.submit("buy", "market", 1.0, leverage=2.0) is None
    assert refused(desk) == ["daily_loss"]


def test_var_limit():
    desk = Desk(limits=LIMITS)
    desk.quote(99.0, 100.0)
    desk.account._risk["var"] = {"historical": 600.0, "parametric": 550.0}
    assert desk.submit("buy", "market", 1.0, leverage=5.0) is None
    assert refused(desk) == ["var"]


def test_a_pause_refuses_entries_and_voids_resting_ones_while_exits_still_fill():
    from trader.events import OrderCanceled

    desk = Desk(limits=LIMITS)
    desk.quote(99.0, 100.0)
    assert desk.submit("buy", "market", 10.0, leverage=5.0).status == "filled"  # a position to exit
    resting = desk.submit("buy", "limit", 5.0, 90.0, leverage=5.0)  # an entry below the market
    assert resting.status == "open"
    exit_order = desk.submit("sell", "limit", 10.0, 110.0, reduce_only=True)
    desk.account.paused, desk.account.paused_by = True, "telegram:42"
    assert desk.submit("sell", "market", 1.0, leverage=5.0) is None  # a new entry: refused
    assert refused(desk)[-1] == "paused"
    desk.quote(89.0, 90.0)  # the market reaches the resting entry: it never fills after the pause
    assert resting.status == "canceled" and resting.reason == "paused"
    assert any(isinstance(e, OrderCanceled) and e.reason == "paused" for e in desk.events)
    assert desk.account.positions[("binance", "BTCUSDT")].quantity == 10.0
    desk.quote(110.0, 111.0)  # the exit still fills
    assert exit_order.status == "filled" and not desk.account.positions
