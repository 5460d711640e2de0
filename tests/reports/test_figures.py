"""The figures of a weekly report on a fixed journal, against values computed by hand.

The journal (tests/reports/journal_fixture.py ``fixed_journal``): account ``main``, ten closed days
2026-05-01..10 with daily returns 1, -2, 3, 0.5, -1, 2, 0, 1.5, -0.5, 1 % (the week of Monday
05-04 is the last seven), BTC closes from 60,000 with returns 2, -3, 4, 1, -2, 3, -1, 2, 0, 1 %,
four trades in the week (+30, -10, -20, +50 USDT net), one before it and one of another account.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.figures import sharpe, sortino
from reports.journal import Journal
from reports.periods import period_containing
from reports.report import build_report
from tests.reports.journal_fixture import fixed_journal, ts

WEEK_RETURNS = [0.005, -0.01, 0.02, 0.0, 0.015, -0.005, 0.01]
ALL_RETURNS = [0.01, -0.02, 0.03] + WEEK_RETURNS


@pytest.fixture(scope="module")
def week_report(tmp_path_factory):
    state = tmp_path_factory.mktemp("fixed")
    fixed_journal(state)
    period = period_containing("week", ts("2026-05-06"))
    return Journal(state).query(lambda view: build_report(view, "main", period, now=ts("2026-05-11", 0.1)))


def test_returns(week_report):
    r = week_report.returns
    # Compounded: 1.005 * 0.99 * 1.02 * 1.0 * 1.015 * 0.995 * 1.01 - 1
    assert r.period == pytest.approx(1.005 * 0.99 * 1.02 * 1.015 * 0.995 * 1.01 - 1, rel=1e-12)
    assert r.period == pytest.approx(0.0351706, abs=1e-7)
    assert r.days_7 == pytest.approx(r.period, rel=1e-12)  # the week is the last seven days
    since = 1.01 * 0.98 * 1.03 * (1 + r.period) - 1
    assert r.since_start == pytest.approx(since, rel=1e-12) and r.days_since_start == 10
    assert r.days_30 == pytest.approx(since) and r.year_to_date == pytest.approx(since)
    assert r.annualised_return == pytest.approx((1 + since) ** (365 / 10) - 1, rel=1e-9)
    # Sample variance: sum of squared deviations from the mean 0.0055 is 0.0019725, over 9.
    assert r.annualised_volatility == pytest.approx(math.sqrt(0.0019725 / 9) * math.sqrt(365), rel=1e-9)


def test_trade_statistics(week_report):
    t = week_report.trades
    assert (t.count, t.wins, t.losses) == (4, 2, 2)  # the trade before the week and the other account's stay out
    assert t.win_rate == 0.5
    assert t.profit_factor == pytest.approx(80 / 30)  # (30 + 50) / |-10 - 20|
    assert t.expectancy_usdt == pytest.approx(12.5)  # (30 - 10 - 20 + 50) / 4
    assert (t.average_win_usdt, t.average_loss_usdt) == (40.0, -15.0)
    assert (t.largest_win_usdt, t.largest_loss_usdt) == (50.0, -20.0)
    assert t.average_holding_seconds == pytest.approx((3600 + 1800 + 600 + 7200) / 4)
    by_strategy = dict(week_report.by_strategy)
    assert list(by_strategy) == ["mean_reversion", "momentum"]  # best net PnL first: +30 then +20
    assert by_strategy["momentum"].win_rate == 0.5 and by_strategy["mean_reversion"].net_pnl_usdt == 30.0
    by_symbol = dict(week_report.by_symbol)
    assert [(name, s.count, s.net_pnl_usdt) for name, s in week_report.by_symbol] == [
        ("SOLUSDT", 1, 50.0), ("BTCUSDT", 2, 10.0), ("ETHUSDT", 1, -10.0)]
    assert by_symbol["ETHUSDT"].profit_factor == 0.0 and by_symbol["SOLUSDT"].profit_factor is None  # no loss


def test_money(week_report):
    m = week_report.money
    assert m.realized_pnl_usdt == pytest.approx(4 * 1.0 + 50.0)  # net + 1 USDT fees each, before fees
    assert m.fees_usdt == pytest.approx(7 * 1.5) and m.funding_usdt == pytest.approx(7 * -0.25)
    assert m.unrealized_pnl_usdt == 12.5 and m.equity_end_usdt == 10_300.0


def test_drawdown(week_report):
    # Peak before the week: 10,300 (05-02). In the week: 10,200, 10,350 (new peak), 10,000, 10,100,
    # 9,900 (deepest: 450 below 10,350), 10,400 (new peak), 10,300 (100 below 10,400 at the end).
    assert week_report.risk.max_drawdown_ratio == pytest.approx(450 / 10_350)
    assert week_report.risk.current_drawdown_ratio == pytest.approx(100 / 10_400)
    assert week_report.curve.drawdown[0] == pytest.approx(100 / 10_300)
    assert week_report.risk.halted_seconds == 1_800.0


def test_sharpe_and_sortino(week_report):
    risk = week_report.risk
    assert risk.daily_returns_30d == 10
    # mean 0.0055; sample stdev sqrt(0.0019725 / 9); x sqrt(365)
    assert risk.sharpe_30d == pytest.approx(0.0055 / math.sqrt(0.0019725 / 9) * math.sqrt(365), rel=1e-9)
    assert risk.sharpe_30d == pytest.approx(7.0977692, abs=1e-6)
    # downside deviation: sqrt((0.02^2 + 0.01^2 + 0.005^2) / 10) = sqrt(0.0000525)
    assert risk.sortino_30d == pytest.approx(0.0055 / math.sqrt(0.0000525) * math.sqrt(365), rel=1e-9)


def test_sharpe_and_sortino_agree_with_the_trader():
    from trader import risk as trader_risk

    returns = np.array(ALL_RETURNS)
    assert sharpe(ALL_RETURNS) == pytest.approx(trader_risk.sharpe(returns, 86_400.0), rel=1e-12)
    assert sortino(ALL_RETURNS) == pytest.approx(trader_risk.sortino(returns, 86_400.0), rel=1e-12)


def test_ratios_are_absent_below_seven_daily_returns():
    assert sharpe(ALL_RETURNS[:6]) is None and sortino(ALL_RETURNS[:6]) is None
    assert sharpe(ALL_RETURNS[:7]) is not None and sortino(ALL_RETURNS[:7]) is not None


def test_btc_benchmark(week_report):
    b = week_report.benchmark
    assert b.exchange == "binance"  # bybit's marks (1.5x) are there too: binance is preferred
    # Close of Sunday 05-03 to close of Sunday 05-10: 1.01 * 0.98 * 1.03 * 0.99 * 1.02 * 1.0 * 1.01 - 1
    assert b.return_period == pytest.approx(1.01 * 0.98 * 1.03 * 0.99 * 1.02 * 1.0 * 1.01 - 1, rel=1e-9)
    assert b.excess_return == pytest.approx(week_report.returns.period - b.return_period)
    s = b.stats
    assert s.pairs == 10
    # BTC mean 0.007; sum of squared BTC deviations 0.00441; sum of cross deviations 0.002865.
    beta = 0.002865 / 0.00441
    assert s.beta == pytest.approx(beta, rel=1e-9)
    assert s.alpha == pytest.approx((0.0055 - beta * 0.007) * 365, rel=1e-9)
    assert s.correlation == pytest.approx(0.002865 / math.sqrt(0.0019725 * 0.00441), rel=1e-9)
    # Excess returns: mean -0.0015, sum of squared deviations 0.0006525.
    tracking = math.sqrt(0.0006525 / 9) * math.sqrt(365)
    assert s.tracking_error == pytest.approx(tracking, rel=1e-9)
    assert s.information_ratio == pytest.approx(-0.0015 * 365 / tracking, rel=1e-9)


def test_a_day_so_far_reads_the_open_day_and_the_account(tmp_path):
    from tests.reports.journal_fixture import create_journal

    journal = create_journal(tmp_path)
    journal.account("main", created=ts("2026-05-01"), equity=10_150.0, hwm=10_300.0, halted=True,
                    halt_reason="daily_loss", updated=ts("2026-05-02", 10))
    journal.daily("main", "2026-05-01", 10_000.0, 200.0)
    journal.daily("main", "2026-05-02", 10_200.0, -51.0, closed=False)
    journal.close()
    period = period_containing("day", ts("2026-05-02"))
    report = Journal(tmp_path).query(lambda view: build_report(view, "main", period, now=ts("2026-05-02", 10)))
    assert not report.complete and report.returns.period == pytest.approx(-51 / 10_200)
    assert report.returns.since_start == pytest.approx(1.02 * (1 - 51 / 10_200) - 1)
    assert report.money.equity_end_usdt == 10_150.0
    assert report.risk.current_drawdown_ratio == pytest.approx(150 / 10_300)  # the trader's high-water mark
    assert report.risk.halted_now and report.risk.halt_reason == "daily_loss"
    assert report.risk.sharpe_30d is None  # one closed day
