"""Sharpe and Sortino are what their names say: the journal's closed daily returns, 30 at most,
annualised with sqrt(365), absent until 7 exist; per strategy from its trades' daily net PnL."""

from __future__ import annotations

import math

import pytest

from tests.trader_journal.journal_fixtures import seed_history
from trader.config import load_config_text
from trader.engine import Trader
from trader.journal import open_journal

CONFIG = "feed: {kind: sim, exchanges: [binance], symbols: [BTCUSDT]}\n"
# Seven daily returns, each day starting from 10,000 USDT.
WEEK = [0.01, -0.005, 0.02, 0.0, 0.01, -0.01, 0.005]
# By hand: mean = 0.03 / 7 = 0.00428571. Deviations 0.0057143, -0.0092857, 0.0157143, -0.0042857,
# 0.0057143, -0.0142857, 0.0007143; their squares sum to 6.2143e-4, / 6 = 1.03571e-4, so the sample
# standard deviation is 0.0101770 and mean / sd = 0.421118. sqrt(365) = 19.104973.
SHARPE = 0.421118 * 19.104973  # 8.0454
# Downside deviation against 0: sqrt((0.005^2 + 0.01^2) / 7) = sqrt(1.785714e-5) = 0.00422577;
# mean / dd = 1.014185.
SORTINO = 1.014185 * 19.104973  # 19.3760
# momentum's trades made 1 % of the day's 10,000 USDT on three days and lost on two.
MOMENTUM = [100.0, 0.0, -50.0, 100.0, 0.0, -50.0, 100.0]  # returns 0.01, 0, -0.005, 0.01, 0, -0.005, 0.01
# mean 0.02 / 7 = 0.00285714; squared deviations: 3 x 0.0071429^2 + 2 x 0.0028571^2 + 2 x 0.0078571^2
# = 2.92857e-4, / 6 = 4.88095e-5, sd 0.00698638; mean / sd = 0.408959.
MOMENTUM_SHARPE = 0.408959 * 19.104973  # 7.8131


def _resumed(state_dir) -> Trader:
    journal = open_journal(state_dir, feed_kind="sim")
    trader = Trader(load_config_text(CONFIG), journal=journal)
    journal.close()  # resumed at construction; nothing runs here
    return trader


def test_sharpe_and_sortino_of_seven_daily_returns_by_hand(tmp_path):
    trader = _resumed(seed_history(tmp_path / "state", WEEK, {"momentum": MOMENTUM}))
    (account,) = trader.snapshot().accounts
    assert account.sharpe_30d == pytest.approx(SHARPE, rel=1e-5)
    assert account.sortino_30d == pytest.approx(SORTINO, rel=1e-5)
    strategies = {s.name: s.sharpe_30d for s in account.strategies}
    assert strategies["momentum"] == pytest.approx(MOMENTUM_SHARPE, rel=1e-5)
    assert strategies["mean_reversion"] is None  # no trade in a week: no variation, no ratio


def test_absent_with_six_daily_returns(tmp_path):
    trader = _resumed(seed_history(tmp_path / "state", WEEK[:6], {"momentum": MOMENTUM[:6]}))
    (account,) = trader.snapshot().accounts
    assert account.sharpe_30d is None and account.sortino_30d is None
    assert all(s.sharpe_30d is None for s in account.strategies)


def test_only_the_last_thirty_days_count(tmp_path):
    # 40 days: ten losing days first, then 30 days alternating +2 % / -1 %. Only the 30 count.
    returns = [-0.05] * 10 + [0.02, -0.01] * 15
    trader = _resumed(seed_history(tmp_path / "state", returns))
    (account,) = trader.snapshot().accounts
    # mean 0.005, sample sd 0.015 * sqrt(30 / 29) = 0.0152564: 0.327731 * sqrt(365)
    assert account.sharpe_30d == pytest.approx(0.005 / (0.015 * math.sqrt(30 / 29)) * math.sqrt(365), rel=1e-9)
    # downside: sqrt(15 * 0.01^2 / 30) = 0.00707107
    assert account.sortino_30d == pytest.approx(0.005 / 0.00707107 * math.sqrt(365), rel=1e-5)


def test_the_running_trader_and_its_journal_agree_on_the_days(tmp_path):
    from tests.trader_journal.desk import START, Desk
    from trader.risk import SECONDS_PER_DAY

    desk = Desk(tmp_path / "state")
    first_day = int(START // SECONDS_PER_DAY)
    for i, r in enumerate(WEEK):
        desk.account.balance = desk.account.day_start_equity * (1 + r)  # the day's PnL, however made
        desk.clock.now = (first_day + i + 1) * SECONDS_PER_DAY + 1.0
        desk.account.track_equity(desk.clock())  # the first look after midnight rolls the day
    desk.account.refresh_risk()
    live = desk.trader.snapshot().accounts[0]
    assert live.sharpe_30d == pytest.approx(SHARPE, rel=1e-5) and live.sortino_30d == pytest.approx(SORTINO, rel=1e-5)
    rows = desk.rows("SELECT pnl_usdt / equity_start_usdt FROM daily WHERE closed = 1 ORDER BY day")
    assert [r[0] for r in rows] == pytest.approx(WEEK)
    desk.close()
    again = Desk(tmp_path / "state", desk.clock)
    assert again.trader.snapshot().accounts[0].sharpe_30d == pytest.approx(live.sharpe_30d, rel=1e-12)
    again.close()
