"""The account state the trader keeps itself: the day's start at 00:00 UTC, the high-water mark and
drawdown net of deposits and withdrawals, each record counted once however often it is read,
round trips rebuilt from fills, and everything back after a restart (the journal's seam)."""

from __future__ import annotations

import json

import pytest

from trader.accounts.model import (AccountReading, Balance, CashFlow, ClosedPosition, Fill, History, Liquidation,
                                   Position)
from trader.accounts.roundtrips import RoundTrips
from trader.accounts.state import ExchangeAccountState

DAY = 86_400.0
T0 = 20_000 * DAY + 3_600.0  # 01:00 UTC


def reading(equity: float, *positions: Position) -> AccountReading:
    return AccountReading(Balance(equity, equity, 0.0, 0.0, equity, 0.0, 0.01), positions)


def btc(quantity=0.5, opened_at=None) -> Position:
    return Position("BTCUSDT", quantity, 60_000.0, 61_000.0, 50_000.0, 500.0, 3_050.0, 10.0, opened_at)


def test_the_day_starts_at_0000_utc_with_the_equity_then():
    state = ExchangeAccountState("a", "binance", T0)
    state.observe(reading(10_000.0), T0)
    state.observe(reading(9_400.0), T0 + 3_600)
    assert state.snapshot(T0 + 3_600).daily_pnl_usdt == -600.0
    midnight = (T0 // DAY + 1) * DAY
    state.observe(reading(9_300.0), midnight + 5)  # the first read of the new day is its start
    state.observe(reading(9_200.0), midnight + 65)
    snapshot = state.snapshot(midnight + 65)
    assert (snapshot.day_start_equity_usdt, snapshot.daily_pnl_usdt) == (9_300.0, -100.0)
    assert snapshot.max_drawdown_ratio == pytest.approx(0.08)


def test_a_withdrawal_is_neither_a_loss_nor_a_drawdown():
    state = ExchangeAccountState("a", "bybit", T0)
    state.observe(reading(10_000.0), T0)
    state.observe(reading(5_000.0), T0 + 20)  # the withdrawal shows in equity at once...
    assert state.snapshot(T0 + 20).drawdown_ratio == 0.5
    # ... its record comes with the next history read, and the replay takes the drawdown back.
    state.apply(History(flows=(CashFlow("w1", "transfer", -5_000.0, None, T0 + 10),)), T0 + 30)
    snapshot = state.snapshot(T0 + 30)
    assert (snapshot.high_water_mark_usdt, snapshot.drawdown_ratio, snapshot.daily_pnl_usdt) == (5_000.0, 0.0, 0.0)
    assert (snapshot.max_drawdown_ratio, state.day_transfers) == (0.0, -5_000.0)


def test_a_deposit_after_a_new_peak_is_already_in_the_peak():
    state = ExchangeAccountState("a", "okx", T0)
    state.observe(reading(10_000.0), T0)
    state.observe(reading(12_000.0), T0 + 20)  # 2,000 deposited at T0 + 10: a new "peak"
    state.apply(History(flows=(CashFlow("d1", "transfer", 2_000.0, None, T0 + 10),)), T0 + 30)
    assert state.high_water_mark == 12_000.0  # set after the deposit: it holds it already
    assert state.snapshot(T0 + 30).daily_pnl_usdt == 0.0
    state.observe(reading(11_000.0), T0 + 40)
    assert state.snapshot(T0 + 40).drawdown_ratio == pytest.approx(1_000 / 12_000)


def test_a_deposit_during_a_drawdown_moves_the_peak_with_it():
    state = ExchangeAccountState("a", "okx", T0)
    state.observe(reading(10_000.0), T0)
    state.observe(reading(9_000.0), T0 + 10)
    state.observe(reading(10_500.0), T0 + 30)  # 1,500 deposited at T0 + 20
    state.apply(History(flows=(CashFlow("d1", "transfer", 1_500.0, None, T0 + 20),)), T0 + 40)
    assert state.high_water_mark == 11_500.0
    assert state.snapshot(T0 + 40).drawdown_ratio == pytest.approx(1_000 / 11_500)


def test_every_record_counts_once_however_often_it_is_read():
    state = ExchangeAccountState("a", "bybit", T0)
    state.observe(reading(10_000.0, btc()), T0)
    history = History(
        fills=(Fill("f1", "BTCUSDT", -0.5, 62_000.0, 31_000.0, 17.0, 1_000.0, "o1", T0 + 5),),
        flows=(CashFlow("f1", "fee", 17.0, "BTCUSDT", T0 + 5), CashFlow("f1", "realized", 1_000.0, "BTCUSDT", T0 + 5),
               CashFlow("s1", "funding", -3.0, "BTCUSDT", T0 + 4)),
        closed=(ClosedPosition("c1", "BTCUSDT", "long", 0.5, 60_000.0, 62_000.0, T0 - 100, T0 + 5, 1_000.0, 20.0, -3.0,
                               977.0, False),),
        liquidations=(Liquidation("l1", "ETHUSDT", T0 + 6),), cursor={"log": T0 + 6})
    assert len(state.apply(history, T0 + 10)) == 1
    assert state.apply(history, T0 + 20) == []  # read again (the overlap): nothing new
    assert (state.realized_pnl, state.commission["bybit"], state.funding_pnl) == (1_000.0, 17.0, -3.0)
    assert state.volume[("bybit", "BTCUSDT")] == 31_000.0 and state.liquidations[("bybit", "ETHUSDT")] == 1
    assert (state.strategy_stats["external"].wins, state.cursor) == (1, {"log": T0 + 6})


def test_a_rebate_never_makes_the_commission_counter_go_down():
    state = ExchangeAccountState("a", "okx", T0)
    state.apply(History(flows=(CashFlow("r1", "fee", -0.4, "BTCUSDT", T0 + 1),)), T0 + 2)
    assert state.commission["okx"] == 0.0


def test_round_trips_from_fills_flip_split_fees_and_know_a_liquidation():
    trips = RoundTrips()
    trips.seed("BTCUSDT", 0.3, 60_000.0, T0)
    assert trips.add(Fill("1", "BTCUSDT", 0.2, 61_000.0, 12_200.0, 6.0, 0.0, "o1", T0 + 1)) is None
    trips.add_funding("BTCUSDT", -2.0)
    flip = trips.add(Fill("2", "BTCUSDT", -0.8, 59_000.0, 47_200.0, 24.0, -700.0, "o2", T0 + 2))
    assert (flip.side, flip.quantity, flip.pnl, flip.funding) == ("long", 0.5, -700.0, -2.0)
    assert flip.entry_price == pytest.approx((60_000 * 0.3 + 61_000 * 0.2) / 0.5)
    assert flip.fees == pytest.approx(6.0 + 24.0 * 0.5 / 0.8) and flip.net_pnl == pytest.approx(-700 - flip.fees - 2)
    liquidated = trips.add(Fill("3", "BTCUSDT", 0.3, 64_000.0, 19_200.0, 9.0, -1_500.0, "liq-1", T0 + 3),
                           liquidation=True)
    assert (liquidated.side, liquidated.liquidated, liquidated.fees) == ("short", True, pytest.approx(24.0 * 0.3 / 0.8 + 9.0))
    assert trips.open_trips() == {}


def test_what_the_journal_saves_brings_the_account_back_after_a_restart():
    before = ExchangeAccountState("a", "binance", T0, round_trips=True)
    before.observe(reading(10_000.0, btc()), T0)
    before.observe(reading(9_000.0, btc()), T0 + 10)
    before.apply(History(flows=(CashFlow("x", "funding", -1.5, "BTCUSDT", T0 + 5),), cursor={"income": T0 + 8}), T0 + 10)
    saved = json.loads(json.dumps(before.state_to_save()))  # plain values: what SQLite can hold
    assert saved["kind"] == "exchange" and saved["trips"]["BTCUSDT"]["quantity"] == 0.5
    assert saved["day"] == "2024-10-04"  # the journal's UTC day (day 20,000 of the Unix epoch)

    after = ExchangeAccountState("a", "binance", T0 + 3_000, round_trips=True)
    after.load_state(saved)
    after.observe(reading(9_500.0, btc()), T0 + 3_000)
    assert (after.high_water_mark, after.initial, after.day_start_equity) == (10_000.0, 10_000.0, 10_000.0)
    assert after.max_drawdown == 0.1 and after.funding_pnl == -1.5 and after.started_at == T0
    assert after.apply(History(flows=(CashFlow("x", "funding", -1.5, "BTCUSDT", T0 + 5),)), T0 + 3_000) == []
    closed = after.apply(History(fills=(Fill("9", "BTCUSDT", -0.5, 61_000.0, 30_500.0, 15.0, 500.0, "o9", T0 + 3_001),)),
                         T0 + 3_002)
    assert [(c.pnl, c.funding) for c in closed] == [(500.0, -1.5)]  # the trip resumed where it was
