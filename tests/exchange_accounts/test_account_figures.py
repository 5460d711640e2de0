"""A real account's figures, read from each stand-in exchange by the real adapter and ccxt client,
come out under the paper accounts' metric names, equal to what the exchange says.

One story per exchange: a long position open before the watch began; then funding, a deposit,
the position closed at a profit, a second one closed at a loss, a third one sliding into a
drawdown; then, on a fresh account, a position liquidated between two polls.
"""

from __future__ import annotations

import time

import pytest

from exporters.registry import build_registry_from
from tests.exchange_accounts.harness import run_closing, EXCHANGES, make_watcher, standin
from tests.exchange_accounts.scripts import script_for
from tests.exporters.scrape_parsing import samples, series_of, value
from trader.bus import EventBus
from trader.snapshot import TraderSnapshot
from trader.vocabulary import API_ERROR_REASONS

SYMBOL = "BTCUSDT"


def scrape(watcher, stats) -> dict:
    """The metrics a trader watching only this account serves."""
    now = time.time()
    account = watcher.state.snapshot(now)
    snapshot = TraderSnapshot(ts=now, accounts=(account,) if account else (), feeds=(), markets=(),
                              api_requests=stats.snapshot(), api_errors=stats.errors_snapshot(),
                              account_watch=(watcher.watch_snapshot(now),))
    registry = build_registry_from(lambda: snapshot, EventBus(), process_metrics=False)
    return samples(registry.render(registry.capture(), openmetrics=True), openmetrics=True)


async def poll(watcher, history: bool = True) -> None:
    if history:
        watcher._next_history = 0.0
    assert await watcher.cycle() is not None
    assert watcher.status == "watching" and watcher.last_error is None


def _closed_nets(name, server) -> list[float]:
    """What the exchange itself says each closed position made (Binance keeps no such record:
    its trips are the stand-in's fills, 0.5 BTC +2,000 and 0.2 BTC -1,000 at 0.05 % fees)."""
    if name == "bybit":
        return [float(r["closedPnl"]) for r in server.closed]
    if name == "okx":
        return [float(r["realizedPnl"]) for r in server.history]
    return [1000.0 - 0.5 * 62_000 * 0.0005 - 3.25, -200.0 - (0.2 * 62_000 + 0.2 * 61_000) * 0.0005]


@pytest.mark.parametrize("name", EXCHANGES)
def test_the_account_reads_as_a_paper_account_does(name):
    with standin(name) as server:
        script = script_for(name, server)
        script.open(SYMBOL, 0.5, 60_000.0, mark=61_000.0, liquidation=50_000.0, seed=True)
        watcher, stats = make_watcher(name, server)
        where = {"account": f"{name}-main"}
        position = dict(where, exchange=name, symbol=SYMBOL)

        async def story():
            await poll(watcher)
            first = scrape(watcher, stats), script.equity(), script.wallet()
            script.funding(SYMBOL, -3.25)
            script.transfer(1_000.0)
            script.close(SYMBOL, 62_000.0)
            script.open(SYMBOL, 0.2, 62_000.0)
            script.close(SYMBOL, 61_000.0)
            await poll(watcher)
            second = scrape(watcher, stats), script.equity(), script.wallet()
            script.open(SYMBOL, 0.4, 61_000.0, mark=55_000.0, liquidation=52_000.0)
            await poll(watcher, history=False)
            third = scrape(watcher, stats), script.equity()
            return first, second, third

        (first, e1, w1), (second, e2, w2), (third, e3) = run_closing(watcher, story)

    # What the exchange said first: equity is the margin balance, the position as it stands.
    assert value(first, "trader_equity_usdt", **where) == pytest.approx(e1)
    assert value(first, "trader_balance_usdt", **where) == pytest.approx(w1)
    assert value(first, "trader_initial_equity_usdt", **where) == pytest.approx(e1)
    assert value(first, "trader_pnl_unrealized_usdt", **where) == pytest.approx(500.0)
    assert value(first, "trader_day_start_equity_usdt", **where) == pytest.approx(e1)
    assert value(first, "trader_daily_pnl_usdt", **where) == pytest.approx(0.0)
    assert value(first, "trader_position_quantity", **position) == pytest.approx(0.5)
    assert value(first, "trader_position_notional_usdt", **position) == pytest.approx(30_500.0)
    assert value(first, "trader_position_entry_price_usdt", **position) == pytest.approx(60_000.0)
    assert value(first, "trader_position_mark_price_usdt", **position) == pytest.approx(61_000.0)
    assert value(first, "trader_position_liquidation_price_usdt", **position) == pytest.approx(50_000.0)
    assert value(first, "trader_liquidation_distance_ratio", **position) == pytest.approx(11_000 / 61_000)
    assert 0 <= value(first, "trader_position_age_seconds", **position) < 30
    assert value(first, "trader_open_positions", **where) == 1
    assert value(first, "trader_margin_used_usdt", **where) == pytest.approx(30_500 / 10)
    assert value(first, "trader_margin_free_usdt", **where) == pytest.approx(e1 - 30_500 / 10)
    assert 0 < value(first, "trader_margin_ratio", **where) < 0.05
    assert value(first, "trader_leverage", **where) == pytest.approx(30_500 / e1)
    assert value(first, "trader_notional_usdt", **where) == pytest.approx(30_500.0)
    # Counters exist at zero before anything happens: the first liquidation is an increase.
    assert value(first, "trader_liquidations_total", **position) == 0
    assert value(first, "trader_volume_usdt_total", **position) == 0
    assert value(first, "trader_commission_usdt_total", **where, exchange=name) == 0
    assert value(first, "trader_closed_trades_total", **where, strategy="external", status="win") == 0
    assert value(first, "trader_trading_halted", **where) == 0  # the trader halts nothing it does not trade
    assert not [n for n, _ in first if n.startswith("trader_limit_")]  # and enforces no limit on it
    assert time.time() - value(first, "trader_account_last_success_timestamp_seconds", **where, exchange=name) < 30
    assert 0 < value(first, "trader_api_rate_limit_usage_ratio", **where, exchange=name) < 0.5
    errors = series_of(first, "trader_api_errors_total")
    assert errors and set(errors.values()) == {0} and {dict(k)["reason"] for k in errors} == set(API_ERROR_REASONS)
    assert sum(v for k, v in series_of(first, "trader_api_requests_total").items()
               if dict(k)["status"] == "ok" and dict(k)["exchange"] == name) >= 3

    # Then funding, a deposit, a win and a loss.
    nets = _closed_nets(name, server)
    assert value(second, "trader_equity_usdt", **where) == pytest.approx(e2)
    assert value(second, "trader_balance_usdt", **where) == pytest.approx(w2)
    assert value(second, "trader_pnl_realized_usdt", **where) == pytest.approx(1_000.0 - 200.0)
    assert value(second, "trader_funding_pnl_usdt", **where) == pytest.approx(-3.25)
    commission = value(second, "trader_commission_usdt_total", **where, exchange=name)
    # The wallet moved by exactly what the trader counted: realised PnL, fees, funding, the deposit.
    assert w2 - w1 == pytest.approx(800.0 - commission - 3.25 + 1_000.0)
    assert value(second, "trader_volume_usdt_total", **position) == pytest.approx(0.5 * 62_000 + 0.2 * 62_000 + 0.2 * 61_000)
    assert value(second, "trader_closed_trades_total", **where, strategy="external", status="win") == 1
    assert value(second, "trader_closed_trades_total", **where, strategy="external", status="loss") == 1
    wins, losses = sum(n for n in nets if n > 0), -sum(n for n in nets if n <= 0)
    assert value(second, "trader_profit_factor", **where) == pytest.approx(wins / losses)
    # The deposit is neither profit nor a new peak from nothing.
    assert value(second, "trader_daily_pnl_usdt", **where) == pytest.approx(e2 - e1 - 1_000.0)
    assert value(second, "trader_high_water_mark_usdt", **where) == pytest.approx(e2)
    assert value(second, "trader_open_positions", **where) == 0
    assert ("trader_liquidation_distance_ratio", tuple(sorted(position.items()))) not in second

    # Then a drawdown from that peak.
    assert value(third, "trader_equity_usdt", **where) == pytest.approx(e3)
    assert value(third, "trader_drawdown_ratio", **where) == pytest.approx((e2 - e3) / e2)
    assert value(third, "trader_max_drawdown_ratio", **where) == pytest.approx((e2 - e3) / e2)
    assert value(third, "trader_liquidation_distance_ratio", **position) == pytest.approx(3_000 / 55_000)


@pytest.mark.parametrize("name", EXCHANGES)
def test_an_account_with_no_positions(name):
    with standin(name) as server:
        watcher, stats = make_watcher(name, server)

        async def read():
            await poll(watcher)
            return scrape(watcher, stats)

        parsed = run_closing(watcher, read)
    where = {"account": f"{name}-main"}
    assert value(parsed, "trader_equity_usdt", **where) == pytest.approx(10_000.0)
    assert value(parsed, "trader_open_positions", **where) == 0
    assert value(parsed, "trader_leverage", **where) == 0
    assert value(parsed, "trader_notional_usdt", **where) == 0
    for absent in ("trader_position_quantity", "trader_liquidation_distance_ratio", "trader_profit_factor",
                   "trader_position_liquidation_price_usdt"):
        assert not series_of(parsed, absent), absent


@pytest.mark.parametrize("name", EXCHANGES)
def test_a_position_liquidated_between_two_polls_is_detected_and_counted(name):
    with standin(name) as server:
        script = script_for(name, server)
        script.open(SYMBOL, 0.5, 60_000.0, mark=51_000.0, liquidation=50_500.0, seed=True)
        watcher, stats = make_watcher(name, server)
        position = {"account": f"{name}-main", "exchange": name, "symbol": SYMBOL}

        async def story():
            await poll(watcher)
            before = scrape(watcher, stats)
            script.liquidate(SYMBOL, 50_500.0)  # between two polls: the trader never saw it happen
            await poll(watcher)
            return before, scrape(watcher, stats), watcher.state.strategy_stats["external"]

        before, after, stats_after = run_closing(watcher, story)
    assert value(before, "trader_liquidations_total", **position) == 0
    assert value(before, "trader_liquidation_distance_ratio", **position) == pytest.approx(500 / 51_000)
    assert value(after, "trader_liquidations_total", **position) == 1
    assert value(after, "trader_open_positions", account=position["account"]) == 0
    assert value(after, "trader_closed_trades_total", account=position["account"], strategy="external",
                 status="loss") == 1
    assert (stats_after.wins, stats_after.losses) == (0, 1)


def test_the_journal_hook_gets_every_read_and_each_closed_position_once(caplog):
    with standin("bybit") as server:
        script = script_for("bybit", server)
        script.open(SYMBOL, 0.5, 60_000.0, mark=61_000.0, liquidation=50_000.0, seed=True)
        watcher, _ = make_watcher("bybit", server)
        calls = []
        watcher.on_read = lambda state, closed: calls.append((state.state_to_save(), [c.id for c in closed]))

        async def story():
            await poll(watcher)
            script.close(SYMBOL, 62_000.0)
            await poll(watcher)
            await poll(watcher)  # read again: the closed position is not news any more
            watcher.on_read = lambda state, closed: 1 / 0  # a journal that fails
            await poll(watcher)

        run_closing(watcher, story)
    assert [len(closed) for _, closed in calls] == [0, 1, 0]
    saved = calls[1][0]
    assert (saved["kind"], saved["exchange"], saved["stats"]["wins"]) == ("exchange", "bybit", 1)
    assert "exchange account journal hook failed" in caplog.text and watcher.status == "watching"
