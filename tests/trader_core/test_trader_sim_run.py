"""A short sim run trades by itself: every order type and status, fills, fees and PnL."""

from collections import Counter

from tests.trader_core.sim_trader import FAST_SIM, run_trader


def test_short_sim_run_trades_every_order_type_and_status():
    trader = run_trader(FAST_SIM, 8.0)
    snap = trader.snapshot()
    (account,) = snap.accounts
    by_type = Counter()
    for (exchange, order_type, status), n in account.orders_by_type.items():
        by_type[(order_type, status)] += n
    statuses = Counter()
    for (exchange, symbol, side, status), n in account.orders.items():
        statuses[status] += n
    assert {"submitted", "filled", "canceled", "rejected"} <= {s for s, n in statuses.items() if n}, statuses
    for order_type in ("market", "limit", "post_only", "stop"):
        assert by_type[(order_type, "submitted")] > 0, (order_type, by_type)
    assert by_type[("market", "filled")] > 0 and by_type[("post_only", "filled")] + by_type[("limit", "filled")] > 0
    assert sum(account.commission_usdt.values()) > 0
    assert account.realized_pnl_usdt != 0
    assert account.equity_usdt != account.initial_equity_usdt
    assert sum(s.wins + s.losses for s in account.strategies) > 0
    assert all(sum(s.signals.values()) > 0 for s in account.strategies)
    assert sum(account.volume_usdt.values()) > 0
    assert snap.api_requests[("binance", "order", "ok")] > 0
    assert account.var_usdt and account.sharpe_30d is None  # 50 samples at 0.2 s; Sharpe needs 7 whole days
    assert snap.feeds[0].state == "stopped" and snap.feeds[0].messages > 0  # stopped by trader.stop()
    assert {m.symbol for m in snap.markets} == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert snap.drills == {"crash": False, "feed-outage": False, "api-errors": False, "latency": False,
                           "strategy-stall": False}


def test_two_accounts_trade_independently_from_config():
    config = FAST_SIM.replace("""accounts:
  - name: main""", """accounts:
  - name: small
    initial_balance_usdt: 2000
    symbols: [BTCUSDT]
    limits: {max_open_positions: 1, max_leverage: 3}
    strategies:
      - {type: momentum, name: fast_momentum, bar_seconds: 0.1, lookback_bars: 5, entry_threshold: 0.3,
         order_usdt: 500, leverage: 2, max_hold_seconds: 1.0, entry_timeout_seconds: 0.5}
  - name: main""")
    trader = run_trader(config, 4.0)
    small, main = trader.snapshot().accounts
    assert (small.name, main.name) == ("small", "main")
    assert small.initial_equity_usdt == 2000 and small.limits.max_open_positions == 1
    assert [s.name for s in small.strategies] == ["fast_momentum"]
    assert {symbol for (_, symbol, _, _) in small.orders} == {"BTCUSDT"}
    assert sum(small.orders.values()) > 0 and sum(main.orders.values()) > 0
    assert {s.name for s in main.strategies} == {"momentum", "mean_reversion"}


def test_the_example_config_is_every_default():
    """trader/config.example.yml says it holds every key at its default: the defaults a user runs
    (the strategies' exits, sizes and timeouts included) are the ones it documents."""
    from trader.config import load_config
    from tests.support.trader import REPO_ROOT

    assert load_config(REPO_ROOT / "trader" / "config.example.yml") == load_config(None)
