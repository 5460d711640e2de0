"""Every table round-trips: what the trader core holds is written, and a new trader on the same
state dir resumes exactly it (money, positions, resting orders, halts, pause, closed-trade
totals, counters, days), while the history tables hold what happened."""

from __future__ import annotations

import json

import pytest

from tests.trader_journal.desk import START, Clock, Desk
from trader.risk import SECONDS_PER_DAY


def _trade_and_rest(desk: Desk) -> None:
    """A closed ETH round trip (momentum), an open BTC long (mean_reversion) with its stop and
    take-profit resting, funding paid on it, and a resting entry on ETH."""
    desk.quote("BTCUSDT", 60_000.0)
    desk.quote("ETHUSDT", 3_000.0)
    broker = desk.broker
    broker.submit("momentum", "binance", "ETHUSDT", "buy", "market", 1.0, leverage=3)
    desk.clock.now += 90
    desk.quote("ETHUSDT", 3_030.0)
    broker.submit("momentum", "binance", "ETHUSDT", "sell", "limit", 1.0, 3_029.0, reduce_only=True, leverage=3)
    broker.submit("mean_reversion", "binance", "BTCUSDT", "buy", "market", 0.05, leverage=3)
    broker.submit("mean_reversion", "binance", "BTCUSDT", "sell", "stop", 0.05, 58_000.0, reduce_only=True, leverage=3)
    broker.submit("mean_reversion", "binance", "BTCUSDT", "sell", "limit", 0.05, 62_000.0, reduce_only=True, leverage=3)
    broker.submit("momentum", "binance", "ETHUSDT", "buy", "post_only", 0.5, 2_900.0, leverage=3)
    broker.on_mark_price("binance", "BTCUSDT", desk.clock(), 60_000.0, 0.0001, desk.clock() + 1)
    desk.clock.now += 2
    broker.on_mark_price("binance", "BTCUSDT", desk.clock(), 60_100.0, 0.0001, desk.clock() + 3600)
    desk.quote("BTCUSDT", 60_100.0)


def test_every_table_round_trips_and_a_restart_resumes_it(tmp_path):
    desk = Desk(tmp_path / "state")
    _trade_and_rest(desk)
    desk.writer.record_action("main", "pause", "cli:tester", {"why": "round trip"})
    desk.account.paused, desk.account.paused_at, desk.account.paused_by = True, desk.clock(), "cli:tester"
    desk.flush()
    before = desk.trader.snapshot().accounts[0]
    orders_before = {o.order_id: (o.order_type, o.side, o.remaining, o.price, o.reduce_only, o.strategy)
                     for o in desk.broker.open_orders()}
    assert len(orders_before) == 3 and len(before.positions) == 1

    # --- what the file holds --------------------------------------------------------------
    (account,) = desk.rows("SELECT * FROM accounts")
    assert account["balance_usdt"] == pytest.approx(before.balance_usdt)
    assert account["equity_usdt"] == pytest.approx(before.equity_usdt)
    assert account["fees_usdt"] == pytest.approx(sum(before.commission_usdt.values()))
    assert account["funding_usdt"] == pytest.approx(before.funding_pnl_usdt) and account["funding_usdt"] < 0
    assert (account["kind"], account["exchange"], account["paused"], account["paused_by"]) == ("paper", None, 1,
                                                                                                "cli:tester")
    (trade,) = desk.rows("SELECT * FROM trades")
    # 1 ETH bought at the ask 3,000.5, sold at the bid 3,029.5: 29 USDT before taker fees on both fills.
    assert (trade["strategy"], trade["side"], trade["quantity"], trade["exit_reason"]) == ("momentum", "long", 1.0,
                                                                                        "take_profit")
    assert (trade["entry_price"], trade["exit_price"]) == (3_000.5, 3_029.5)
    assert trade["pnl_usdt"] == pytest.approx(29.0)
    assert trade["fees_usdt"] == pytest.approx((3_000.5 + 3_029.5) * 0.0005)
    assert trade["net_pnl_usdt"] == pytest.approx(29.0 - trade["fees_usdt"])
    assert trade["holding_seconds"] == pytest.approx(90.0) and trade["closed_at"] == START + 90
    (position,) = desk.rows("SELECT * FROM positions")
    assert (position["strategy"], position["quantity"], position["entry_price"]) == ("mean_reversion", 0.05, 60_000.5)
    # Funding at 0.01 % on 0.05 BTC, paid at the first mark after it fell due (60,100): a long pays 0.3005 USDT.
    assert position["funding_usdt"] == pytest.approx(-0.3005) and position["liquidation_price"] > 0
    assert {r["order_id"]: (r["order_type"], r["side"], r["quantity"], r["price"], bool(r["reduce_only"]), r["strategy"])
            for r in desk.rows("SELECT * FROM orders")} == orders_before
    (day,) = desk.rows("SELECT * FROM daily")
    assert (day["day"], day["trades"], day["wins"], day["losses"], day["closed"]) == ("2025-06-15", 1, 1, 0, 0)
    assert day["equity_start_usdt"] == 10_000.0 and day["equity_end_usdt"] == pytest.approx(before.equity_usdt)
    assert day["pnl_usdt"] == pytest.approx(before.equity_usdt - 10_000.0)
    assert day["realized_pnl_usdt"] == pytest.approx(29.0) and day["fees_usdt"] == pytest.approx(account["fees_usdt"])
    # Marks as the writer saw them: its first write of the day was the ETH trade's (ETH at 3,030 then).
    assert [tuple(r) for r in desk.rows("SELECT symbol, open_price, close_price FROM daily_marks ORDER BY symbol")] == [
        ("BTCUSDT", 60_000.0, 60_100.0), ("ETHUSDT", 3_030.0, 3_030.0)]
    # One a minute: at the start, then at the first write 60 s or more later (the ETH trade's, at 90 s).
    samples = desk.rows("SELECT ts, equity_usdt, balance_usdt FROM equity_samples ORDER BY ts")
    assert [tuple(r) for r in samples][0] == (START, 10_000.0, 10_000.0) and [r["ts"] for r in samples] == [START, START + 90]
    (action,) = desk.rows("SELECT * FROM actions")
    assert (action["action"], action["actor"], json.loads(action["detail"])) == ("pause", "cli:tester",
                                                                                 {"why": "round trip"})
    assert {r["key"]: r["value"] for r in desk.rows("SELECT * FROM meta")}.keys() == {"created_at", "feed", "trader"}
    desk.close()

    # --- a new trader on the same state dir -------------------------------------------------
    again = Desk(tmp_path / "state", Clock(desk.clock() + 5))
    after = again.trader.snapshot().accounts[0]
    for field in ("balance_usdt", "equity_usdt", "high_water_mark_usdt", "day_start_equity_usdt", "realized_pnl_usdt",
                  "funding_pnl_usdt", "max_drawdown_ratio", "drawdown_ratio", "trading_halted", "profit_factor",
                  "win_rate"):
        assert getattr(after, field) == pytest.approx(getattr(before, field)), field
    assert after.commission_usdt == pytest.approx(before.commission_usdt)
    (held,) = after.positions
    (was,) = before.positions
    for field in ("exchange", "symbol", "strategy", "quantity", "entry_price", "margin_usdt", "leverage",
                  "liquidation_price", "opened_at", "mark_price", "unrealized_pnl_usdt"):
        assert getattr(held, field) == pytest.approx(getattr(was, field)), field
    assert {s.name: (s.wins, s.losses, pytest.approx(s.pnl_usdt)) for s in after.strategies} == \
        {s.name: (s.wins, s.losses, s.pnl_usdt) for s in before.strategies}
    assert {o.order_id: (o.order_type, o.side, o.remaining, o.price, o.reduce_only, o.strategy)
            for o in again.broker.open_orders()} == orders_before
    assert (again.account.paused, again.account.paused_by) == (True, "cli:tester")
    # The restored pause holds: a new entry is refused (trader/limits.py, reason "paused").
    assert again.broker.submit("momentum", "binance", "BTCUSDT", "buy", "limit", 0.01, 50_000.0, leverage=3) is None
    assert again.account.risk_refusals["paused"] == 1
    again.account.paused = False
    # New orders get ids after the restored ones.
    entry = again.broker.submit("momentum", "binance", "BTCUSDT", "buy", "limit", 0.01, 50_000.0, leverage=3)
    assert int(entry.order_id.rsplit("-", 1)[1]) > max(int(i.rsplit("-", 1)[1]) for i in orders_before)
    again.close()


def test_a_restored_stop_still_closes_its_position(tmp_path):
    desk = Desk(tmp_path / "state")
    _trade_and_rest(desk)
    desk.flush()
    desk.close()
    again = Desk(tmp_path / "state", Clock(desk.clock() + 5))
    again.quote("BTCUSDT", 57_900.0)  # under the restored stop at 58,000
    assert again.account.positions == {}
    rows = again.rows("SELECT strategy, exit_reason, quantity FROM trades ORDER BY id")
    assert [tuple(r) for r in rows] == [("momentum", "take_profit", 1.0), ("mean_reversion", "stop", 0.05)]
    assert again.rows("SELECT COUNT(*) FROM positions")[0][0] == 0  # committed with the trade
    again.flush()
    assert again.rows("SELECT COUNT(*) FROM orders WHERE reduce_only = 1")[0][0] == 0  # the take-profit went with it
    again.close()


def test_a_day_roll_closes_the_day_and_samples_equity(tmp_path):
    desk = Desk(tmp_path / "state")
    desk.quote("BTCUSDT", 60_000.0)
    desk.broker.submit("momentum", "binance", "BTCUSDT", "buy", "market", 0.05, leverage=3)
    desk.flush()
    midnight = (START // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY
    desk.clock.now = midnight + 1
    desk.quote("BTCUSDT", 60_600.0)  # the first mark after midnight rolls the day
    days = desk.rows("SELECT day, equity_start_usdt, equity_end_usdt, closed FROM daily ORDER BY day")
    assert [(d["day"], d["closed"]) for d in days] == [("2025-06-15", 1), ("2025-06-16", 0)]
    assert days[0]["equity_end_usdt"] == pytest.approx(days[1]["equity_start_usdt"])
    assert days[1]["equity_start_usdt"] == pytest.approx(desk.account.equity())
    assert desk.rows("SELECT COUNT(*) FROM equity_samples WHERE ts = ?", midnight + 1)[0][0] == 1
    assert list(desk.account.days.account) == [pytest.approx((days[0]["equity_end_usdt"] - 10_000.0) / 10_000.0)]
    desk.close()


def test_a_trader_down_over_midnight_closes_that_day_at_its_last_equity(tmp_path):
    desk = Desk(tmp_path / "state")
    desk.quote("BTCUSDT", 60_000.0)
    desk.broker.submit("momentum", "binance", "BTCUSDT", "buy", "market", 0.05, leverage=3)
    desk.quote("BTCUSDT", 60_200.0)
    desk.flush()
    last_equity = desk.account.equity()
    desk.close()
    again = Desk(tmp_path / "state", Clock(START + 2 * SECONDS_PER_DAY))  # back two days later
    days = again.rows("SELECT day, equity_start_usdt, equity_end_usdt, closed FROM daily ORDER BY day")
    assert [(d["day"], d["closed"]) for d in days] == [("2025-06-15", 1), ("2025-06-17", 0)]
    assert days[0]["equity_end_usdt"] == pytest.approx(last_equity)
    assert again.account.day_start_equity == pytest.approx(last_equity) == days[1]["equity_start_usdt"]
    assert list(again.account.days.account) == [pytest.approx((last_equity - 10_000.0) / 10_000.0)]
    again.close()


def test_a_drawdown_halt_survives_a_restart(tmp_path):
    desk = Desk(tmp_path / "state")
    desk.quote("BTCUSDT", 60_000.0)
    desk.broker.submit("momentum", "binance", "BTCUSDT", "buy", "market", 0.13, leverage=3)
    # Bought at 60,000.5 (fee 3.90 USDT); at 48,000 the loss is 0.13 x 12,000.5 = 1,560.07: equity
    # 8,436.03, 15.64 % under the 10,000 peak and -15.6 % on the day: both limits halt.
    desk.quote("BTCUSDT", 48_000.0)
    assert desk.account.halt_reason == "max_drawdown"
    (account,) = desk.rows("SELECT halted, halt_reason, halted_at, halt_day FROM accounts")
    assert tuple(account) == (1, "max_drawdown", START, "2025-06-15")  # committed at once: no flush needed
    halts = desk.rows("SELECT action, actor, detail FROM actions ORDER BY id")
    assert [(r["action"], r["actor"], json.loads(r["detail"])["reason"]) for r in halts] == [
        ("halt", "risk", "max_drawdown"), ("halt", "risk", "daily_loss")]
    desk.close()
    again = Desk(tmp_path / "state", Clock(START + 60))
    snap = again.trader.snapshot().accounts[0]
    assert snap.trading_halted and again.account.halted_drawdown and again.account.halted_drawdown_at == START
    assert snap.drawdown_ratio == pytest.approx(0.156397, rel=1e-5) and snap.high_water_mark_usdt == 10_000.0
    assert again.broker.submit("momentum", "binance", "ETHUSDT", "buy", "market", 0.1, leverage=3) is None
    # The minute it was down counts as halted time of the day.
    assert again.rows("SELECT halted_seconds FROM daily")[0][0] == pytest.approx(60.0)
    again.close()


class _ExchangeAccount:
    """What issue 14's exchange account exposes: the paper account's attribute names, a kind, an
    exchange, and its deposits (``transfers``)."""

    kind, exchange = "exchange", "bybit"

    def __init__(self, day: int) -> None:
        self.name, self.initial, self.balance = "bybit-main", 5_000.0, 5_000.0
        self.high_water_mark, self.max_drawdown, self.day, self.day_start_equity = 5_000.0, 0.0, day, 5_000.0
        self.realized_pnl, self.commission, self.funding_pnl, self.transfers = 0.0, {"bybit": 0.0}, 0.0, 0.0
        self.positions: dict = {}
        self.trading_halted, self.day_max_drawdown = False, 0.0

    def equity(self) -> float:
        return self.balance


def test_an_exchange_account_is_journalled_from_the_same_attributes(tmp_path):
    from trader.events import PositionClosed, RoundTrip

    desk = Desk(tmp_path / "state")
    watched = _ExchangeAccount(desk.account.day)
    desk.writer.watch(watched)
    watched.balance += 1_000.0
    watched.transfers += 1_000.0  # a deposit: equity up 1,000, PnL 0
    trade = RoundTrip("external", 12.5, 600.0, exchange="bybit", symbol="BTCUSDT", side="short", quantity=0.01,
                      entry_price=60_000.0, exit_price=58_750.0, opened_at=START - 600, closed_at=START, pnl=12.5,
                      external_id="bybit-123")
    for _ in range(2):  # read twice from the exchange
        desk.trader.bus.publish(PositionClosed("bybit-main", "external", "bybit", "BTCUSDT", START, 12.5, 600.0,
                                               "external", trade))
    desk.flush()
    (row,) = desk.rows("SELECT kind, exchange, equity_usdt FROM accounts WHERE name = 'bybit-main'")
    assert tuple(row) == ("exchange", "bybit", 6_000.0)
    (day,) = desk.rows("SELECT transfers_usdt, pnl_usdt, trades FROM daily WHERE account = 'bybit-main'")
    assert tuple(day) == (1_000.0, 0.0, 1)  # read twice, counted once
    assert [tuple(r) for r in desk.rows("SELECT external_id, exit_reason FROM trades WHERE account = 'bybit-main'")] \
        == [("bybit-123", "external")]
    desk.close()
