"""Risk maths against numbers worked out by hand (see the comments)."""

import math

import numpy as np
import pytest

from trader import risk
from trader.config import RiskConfig, LimitsConfig
from trader.portfolio import Account
from tests.trader_core.paper_fixtures import Desk

# 100 returns, -0.0050 ... +0.0049 in steps of 0.0001.
R = np.arange(-50, 50) / 10_000.0
DAY = math.sqrt(86_400 / 10)  # 10-s samples scaled to one day: sqrt(8640) = 92.9516


def test_historical_var_and_cvar():
    # 1 % quantile, linear interpolation: position 0.99 between -0.0050 and -0.0049 -> -0.004901
    assert risk.var_historical(R, 10_000.0, 10.0, 0.99) == pytest.approx(0.004901 * DAY * 10_000)  # 4,555.6 USDT
    # the tail at or below -0.004901 is the single return -0.0050
    assert risk.cvar_historical(R, 10_000.0, 10.0, 0.99) == pytest.approx(0.0050 * DAY * 10_000)  # 4,647.6 USDT


def test_parametric_var_and_cvar():
    # sample std of the integers -50..49 is sqrt(100 * 101 / 12) = 29.0115; z(99 %) = 2.326348
    sigma = math.sqrt(100 * 101 / 12) / 10_000
    assert risk.var_parametric(R, 10_000.0, 10.0, 0.99) == pytest.approx(2.326348 * sigma * DAY * 10_000, rel=1e-6)
    # normal CVaR: pdf(2.326348) / 0.01 = 0.026652 / 0.01 = 2.665214
    assert risk.cvar_parametric(R, 10_000.0, 10.0, 0.99) == pytest.approx(2.665214 * sigma * DAY * 10_000, rel=1e-5)


def test_sharpe_and_sortino_annualised():
    r = np.array([0.01, -0.005, 0.02, 0.0])
    dt = risk.SECONDS_PER_YEAR / 4  # 4 periods a year: annualisation factor sqrt(4) = 2
    # mean 0.00625; sample std sqrt(3.6875e-4 / 3) = 0.0110868
    assert risk.sharpe(r, dt) == pytest.approx(0.00625 / 0.0110868 * 2, rel=1e-5)
    # downside deviation sqrt((0.005**2) / 4) = 0.0025
    assert risk.sortino(r, dt) == pytest.approx(0.00625 / 0.0025 * 2)
    assert risk.sortino(np.array([0.01, 0.02, 0.0]), dt) is None  # no losing sample
    assert risk.sharpe(np.zeros(5), dt) is None


def test_drawdown():
    assert risk.drawdown_ratio(8_500.0, 10_000.0) == pytest.approx(0.15)
    # peak 120, trough 80 after it: 40 / 120
    assert risk.max_drawdown_ratio(np.array([100, 120, 90, 110, 80, 130.0])) == pytest.approx(1 / 3)


def test_liquidation_prices():
    assert risk.liquidation_price(100.0, 10.0, 0.005, long=True) == pytest.approx(90.5)
    assert risk.liquidation_price(100.0, 10.0, 0.005, long=False) == pytest.approx(109.5)
    assert risk.liquidation_price(60_000.0, 3.0, 0.005, long=True) == pytest.approx(60_000 * (1 - 1 / 3 + 0.005))  # 40,300


def test_correlation():
    a = np.array([100, 101, 100, 102, 101, 103.0])
    together = np.column_stack([a, a * 2])
    assert risk.max_pairwise_correlation(together, 3) == pytest.approx(1.0)
    opposite = np.column_stack([a, 200 - a])
    assert risk.max_pairwise_correlation(opposite, 3) < -0.9
    assert risk.max_pairwise_correlation(a.reshape(-1, 1), 3) is None  # one position
    assert risk.max_pairwise_correlation(together[:3], 3) is None  # too few returns


def test_correlation_is_of_the_positions_own_returns():
    a = np.array([100, 101, 100, 102, 101, 103.0])
    together = np.column_stack([a, a * 2])  # two markets moving as one
    # long one, short the other: a hedge, its returns cancel
    assert risk.max_pairwise_correlation(together, 3, [1, -1]) == pytest.approx(-1.0)
    assert risk.max_pairwise_correlation(together, 3, [-1, -1]) == pytest.approx(1.0)  # two shorts
    opposite = np.column_stack([a, 200 - a])  # markets moving against each other
    assert risk.max_pairwise_correlation(opposite, 3, [1, -1]) > 0.9  # long one, short the other: one bet


def test_account_correlation_reads_a_hedge_negative_and_two_longs_positive():
    rng = np.random.default_rng(5)
    common = rng.normal(0, 0.001, 40)
    paths = np.array([100.0, 50.0]) * np.exp(np.cumsum(common[:, None] + rng.normal(0, 0.0002, (40, 2)), axis=0))
    readings = {}
    for eth_side in ("sell", "buy"):
        desk = Desk(risk=RiskConfig(correlation_min_returns=10))
        desk.quote(99.99, 100.01, symbol="BTCUSDT")
        desk.quote(49.995, 50.005, symbol="ETHUSDT")
        desk.broker.submit("s", "binance", "BTCUSDT", "buy", "market", 10.0, leverage=10.0)
        desk.broker.submit("s", "binance", "ETHUSDT", eth_side, "market", 20.0, leverage=10.0)
        for btc, eth in paths:
            desk.clock.now += 10
            desk.quote(btc * 0.9999, btc * 1.0001, symbol="BTCUSDT")
            desk.quote(eth * 0.9999, eth * 1.0001, symbol="ETHUSDT")
            desk.account.sample(desk.clock())
        readings[eth_side] = desk.account.snapshot(desk.clock()).correlation_max
    assert readings["sell"] < -0.9 and readings["buy"] > 0.9, readings


def test_account_risk_figures_appear_only_with_enough_samples():
    config = RiskConfig(sample_interval_seconds=10.0, min_samples=30)
    account = Account("main", 10_000.0, LimitsConfig(), config, ("s",), now=0.0)
    rng = np.random.default_rng(7)
    for i in range(30):  # 30 samples = 29 returns: not yet
        account.balance = 10_000.0 * (1 + rng.normal(0, 0.001))
        account.sample(10.0 * i)
    snap = account.snapshot(300.0)
    assert snap.var_usdt == {} and snap.sharpe_30d is None and snap.sortino_30d is None
    account.balance = 9_990.0
    account.sample(300.0)
    snap = account.snapshot(300.0)
    assert set(snap.var_usdt) == {"historical", "parametric"} and snap.var_usdt["historical"] > 0
    assert snap.cvar_usdt["historical"] >= snap.var_usdt["historical"]
    # Sharpe and Sortino read whole UTC days' returns, never these 10-s samples (tests/trader_journal/).
    assert snap.sharpe_30d is None and snap.sortino_30d is None and snap.strategies[0].sharpe_30d is None


def test_drawdown_daily_pnl_and_halts():
    account = Account("main", 10_000.0, LimitsConfig(max_drawdown_ratio=0.15, daily_loss_ratio=0.05),
                      RiskConfig(), (), now=86_400.0 * 100)
    account.balance = 11_000.0
    account.track_equity(86_400.0 * 100 + 10)
    account.balance = 10_400.0  # -600 today: 6 % of the 10,000 day-start equity
    account.track_equity(86_400.0 * 100 + 20)
    snap = account.snapshot(86_400.0 * 100 + 20)
    assert snap.high_water_mark_usdt == 11_000.0
    assert snap.drawdown_ratio == pytest.approx(600 / 11_000)
    assert snap.daily_pnl_usdt == pytest.approx(400.0)  # up on the day, so no daily halt
    assert not snap.trading_halted
    account.balance = 9_300.0  # -7 % on the day, 15.45 % under the peak
    account.track_equity(86_400.0 * 100 + 30)
    assert account.halted_day == 100 and account.halted_drawdown and account.trading_halted
    account.halted_drawdown = False
    account.balance = 9_400.0
    account.track_equity(86_400.0 * 101 + 1)  # a new UTC day: the daily halt lifts
    assert not account.trading_halted
    assert account.snapshot(86_400.0 * 101 + 1).day_start_equity_usdt == 9_400.0
