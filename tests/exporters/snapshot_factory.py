"""TraderSnapshot objects built directly, for the exporter tests and the scrape benchmark.

``full_snapshot()`` has every figure present (two positions, enough returns, a drill running);
``empty_snapshot()`` is a trader just started: no positions, no returns, no prices yet.
"""

from __future__ import annotations

from dataclasses import replace

from trader.snapshot import (AccountSnapshot, AccountWatchSnapshot, FeedSnapshot, MarketSnapshot, PositionSnapshot,
                             RiskLimitsSnapshot, StrategySnapshot, TraderSnapshot)
from trader.vocabulary import API_ERROR_REASONS

NOW = 1_723_161_600.0  # 2024-08-09 00:00 UTC

LIMITS = RiskLimitsSnapshot(max_drawdown_ratio=0.15, daily_loss_ratio=0.05, var_usdt=500.0,
                            max_leverage=3.0, max_position_usdt=5_000.0, max_open_positions=4)


def position(exchange="binance", symbol="BTCUSDT", strategy="momentum", quantity=0.05, mark=60_000.0,
             liq_distance=0.31, age=120.0) -> PositionSnapshot:
    notional = abs(quantity) * mark
    return PositionSnapshot(exchange=exchange, symbol=symbol, strategy=strategy, quantity=quantity,
                            entry_price=mark - 100.0, mark_price=mark, notional_usdt=notional,
                            unrealized_pnl_usdt=quantity * 100.0, margin_usdt=notional / 3, leverage=3.0,
                            liquidation_price=mark * (1 - liq_distance), liquidation_distance_ratio=liq_distance,
                            opened_at=NOW - age, age_seconds=age)


def account(name="main", positions=(), **overrides) -> AccountSnapshot:
    fields = dict(
        name=name, equity_usdt=10_240.5, balance_usdt=10_200.0, initial_equity_usdt=10_000.0,
        high_water_mark_usdt=10_500.0, day_start_equity_usdt=10_100.0, daily_pnl_usdt=140.5,
        realized_pnl_usdt=230.0, unrealized_pnl_usdt=40.5, funding_pnl_usdt=-3.25,
        commission_usdt={"binance": 12.75}, drawdown_ratio=0.0248, max_drawdown_ratio=0.061,
        var_usdt={"historical": 321.0, "parametric": 298.5}, cvar_usdt={"historical": 410.0, "parametric": 377.0},
        sharpe_30d=1.42, sortino_30d=2.05, profit_factor=1.8, win_rate=0.55, leverage=0.59,
        notional_usdt=6_000.0, margin_used_usdt=2_000.0, margin_free_usdt=8_240.5, correlation_max=0.83,
        trading_halted=False, limits=LIMITS, positions=tuple(positions),
        strategies=(StrategySnapshot("momentum", 180.0, 1.1, {"buy": 7, "sell": 5}, wins=6, losses=4),
                    StrategySnapshot("maker", 50.0, None, {"buy": 2}, wins=1, losses=0)),
        orders={("binance", "BTCUSDT", "buy", "submitted"): 9, ("binance", "BTCUSDT", "buy", "filled"): 8,
                ("binance", "BTCUSDT", "sell", "rejected"): 2},
        orders_by_type={("binance", "market", "filled"): 6, ("binance", "post_only", "rejected"): 2},
        volume_usdt={("binance", "BTCUSDT"): 48_000.0},
        risk_refusals={"leverage": 3},
        liquidations={},
        rejections={("binance", "post_only_would_take"): 2},
    )
    fields.update(overrides)
    return AccountSnapshot(**fields)


def feed(exchange="binance", connected=True, **overrides) -> FeedSnapshot:
    fields = dict(exchange=exchange, state="connected" if connected else "backoff", connected=connected,
                  connected_since=NOW - 3600 if connected else None, reconnects=2, messages=93_953,
                  rejected={"parse_error": 1}, sequence_gaps={"BTCUSDT": 1}, last_error=None)
    fields.update(overrides)
    return FeedSnapshot(**fields)


def market(exchange="binance", symbol="BTCUSDT", last=NOW - 0.2, mark=60_000.0, **overrides) -> MarketSnapshot:
    fields = dict(exchange=exchange, symbol=symbol, last_message_ts=last,
                  best_bid=None if mark is None else mark - 0.1, best_ask=None if mark is None else mark + 0.1,
                  mark_price=mark, funding_rate=0.0001, anomaly_checks=21_313,
                  anomalies={"zscore": 4}, liquidations={"sell": 1})
    fields.update(overrides)
    return MarketSnapshot(**fields)


def full_snapshot(**overrides) -> TraderSnapshot:
    positions = (position(), position(symbol="ETHUSDT", quantity=-1.5, mark=2_600.0, liq_distance=0.04, age=4000.0))
    fields = dict(
        ts=NOW, accounts=(account(positions=positions),),
        feeds=(feed(),),
        markets=(market(), market(symbol="ETHUSDT", mark=2_600.0)),
        api_requests={("binance", "depth_snapshot", "ok"): 3, ("binance", "depth_snapshot", "error"): 1,
                      ("binance", "order", "ok"): 9, ("binance", "order", "error"): 0},
        drills={"crash": True, "feed-outage": False},
    )
    fields.update(overrides)
    return TraderSnapshot(**fields)


def empty_snapshot() -> TraderSnapshot:
    """Just started: no positions, no returns, no prices, nothing counted yet."""
    bare = account(commission_usdt={}, var_usdt={}, cvar_usdt={}, sharpe_30d=None, sortino_30d=None,
                   profit_factor=None, win_rate=None, correlation_max=None, positions=(),
                   strategies=(StrategySnapshot("momentum", 0.0, None, {}, 0, 0),),
                   orders={}, orders_by_type={}, volume_usdt={}, risk_refusals={}, liquidations={},
                   rejections={})
    return TraderSnapshot(
        ts=NOW, accounts=(bare,),
        feeds=(feed(connected=False, reconnects=0, messages=0, rejected={}, sequence_gaps={}),),
        markets=(market(last=None, mark=None, funding_rate=None,
                        anomaly_checks=0, anomalies={}, liquidations={}),),
        api_requests={("binance", "depth_snapshot", "ok"): 0, ("binance", "depth_snapshot", "error"): 0},
        drills={},
    )


def watch(account="main", exchange="binance", **overrides) -> AccountWatchSnapshot:
    """How the watch of an exchange account goes (trader/accounts/watcher.py)."""
    fields = dict(account=account, exchange=exchange, state="watching", last_success_ts=NOW - 5.0,
                  rate_limit_usage_ratio=0.12, last_error=None, key_can_trade=False)
    fields.update(overrides)
    return AccountWatchSnapshot(**fields)


def scaled_snapshot(exchanges=("binance", "bybit", "okx"), symbols_per_exchange=50) -> TraderSnapshot:
    """The series-count scenario: 50 symbols on each of 3 exchanges, one position per exchange."""
    markets, feeds, positions, api = [], [], [], {}
    for exchange in exchanges:
        feeds.append(feed(exchange, sequence_gaps={}))
        for i in range(symbols_per_exchange):
            markets.append(market(exchange, f"SYM{i:02d}USDT", mark=100.0 + i))
        positions.append(position(exchange, "SYM00USDT", mark=100.0, quantity=3.0))
        for endpoint in ("order", "cancel", "depth_snapshot"):
            for status in ("ok", "error"):
                api[(exchange, endpoint, status)] = 5 if status == "ok" else 0
    # Both strategies evaluate every market (the heartbeat's A*S*M series) and have placed an order.
    heartbeat = {(m.exchange, m.symbol): NOW - 1.0 for m in markets}
    strategies = tuple(replace(s, last_evaluation_ts=heartbeat, last_order_ts=NOW - 30.0) for s in account().strategies)
    traded = account(positions=positions, orders={("binance", "SYM00USDT", "buy", "filled"): 3},
                     orders_by_type={("binance", "market", "filled"): 3}, volume_usdt={("binance", "SYM00USDT"): 300.0},
                     strategies=strategies)
    # The account watched on an exchange, whose requests fail for each of the bounded reasons.
    errors = {(e, endpoint, reason): 0 for e, endpoint, _ in api for reason in API_ERROR_REASONS}
    return full_snapshot(accounts=(traded,), feeds=tuple(feeds), markets=tuple(markets),
                         api_requests=api, drills={"crash": False, "feed-outage": False, "api-errors": False,
                                                   "latency": False, "strategy-stall": False},
                         api_errors=errors, account_watch=(watch(),))


__all__ = ["NOW", "LIMITS", "position", "account", "feed", "market", "watch", "full_snapshot", "empty_snapshot",
           "scaled_snapshot", "replace"]
