"""Trading family: equity, PnL, positions, trades, volume, signals, per-strategy figures.

Everything here is read from the snapshot's accounts. Absent figures stay absent: no Sharpe or
Sortino before the trader has enough returns, no profit factor before a losing trade, no position
series for a market the account does not hold. Usage: ``TradingCollector(trader.snapshot,
registry=registry)``; ``exporters.registry.build_registry`` wires every family.
"""

from __future__ import annotations

from exporters.collector import Collector, exchanges_of, group_positions, markets_of
from exporters.families import ACCOUNT_MARKET, MetricSpec, account_gauge, known_then_seen
from trader.snapshot import TraderSnapshot

__all__ = ["TradingCollector", "SIDES", "TRADE_OUTCOMES"]

SIDES = ("buy", "sell")
TRADE_OUTCOMES = ("win", "loss")



EQUITY = account_gauge("trader_equity_usdt", "Account equity: wallet balance plus unrealised PnL.",
                unit="usdt", answers="equity (001 dashboard, 002 metric list)")
BALANCE = account_gauge("trader_balance_usdt", "Wallet balance: deposits + realised PnL - fees +/- funding.",
                 unit="usdt", answers="equity (001, 002)")
INITIAL_EQUITY = account_gauge("trader_initial_equity_usdt", "Equity the account started with.",
                        unit="usdt", answers="PnL ratio denominator (001, 002)")
HIGH_WATER_MARK = account_gauge("trader_high_water_mark_usdt", "Highest equity seen; the drawdown reference.",
                         unit="usdt", answers="drawdown from peak (000, 001)")
DAY_START_EQUITY = account_gauge("trader_day_start_equity_usdt", "Equity at 00:00 UTC, or at start if later.",
                          unit="usdt", answers="daily PnL ratio denominator (000 daily loss)")
DAILY_PNL = account_gauge("trader_daily_pnl_usdt", "Equity change since 00:00 UTC.",
                   unit="usdt", answers="daily PnL (000 monitors, 001, 002 daily loss limit)")
PNL_REALIZED = account_gauge("trader_pnl_realized_usdt", "Trading PnL of closed quantity, before fees and funding.",
                      unit="usdt", answers="PnL realised, trading PnL (001, 002)")
PNL_UNREALIZED = account_gauge("trader_pnl_unrealized_usdt", "Unrealised PnL of open positions at the mark price.",
                        unit="usdt", answers="PnL unrealised (001, 002)")
FUNDING_PNL = account_gauge("trader_funding_pnl_usdt", "Funding received (positive) or paid (negative) since start.",
                     unit="usdt", answers="funding PnL (001)")
COMMISSION = MetricSpec("trader_commission_usdt_total", "counter", "Trading fees paid since start.",
                        ("account", "exchange"), unit="usdt", answers="commission (001, 002)", series="A*E")
OPEN_POSITIONS = account_gauge("trader_open_positions", "Markets with an open position.",
                        unit="", answers="open positions (001, 002)")
POSITION_QUANTITY = account_gauge("trader_position_quantity", "Signed position size in the base asset (> 0 long).",
                           ACCOUNT_MARKET, unit="", answers="open positions (001, 002)", series="P")
POSITION_NOTIONAL = account_gauge("trader_position_notional_usdt", "Absolute position value at the mark price.",
                           ACCOUNT_MARKET, unit="usdt", answers="notional (001)", series="P")
POSITION_UPNL = account_gauge("trader_position_unrealized_pnl_usdt", "Unrealised PnL of one position.",
                       ACCOUNT_MARKET, unit="usdt", answers="PnL unrealised per position (001)", series="P")
POSITION_AGE = account_gauge("trader_position_age_seconds", "Time since the position was opened (the oldest, if combined).",
                      ACCOUNT_MARKET, unit="seconds", answers="position age, held too long (000 > 1 h, 002 timeout)", series="P")
CLOSED_TRADES = MetricSpec("trader_closed_trades_total", "counter", "Closed round trips by outcome.",
                           ("account", "strategy", "status"), unit="",
                           answers="win rate (000 < 40 % with > 10 trades)", series="A*S*2")
VOLUME = MetricSpec("trader_volume_usdt_total", "counter", "Filled notional since start.",
                    ACCOUNT_MARKET, unit="usdt", answers="volume (002)", series="A*M")
SIGNALS = MetricSpec("trader_signals_total", "counter", "Strategy signals by side.",
                     ("account", "strategy", "side"), unit="", answers="signals by strategy (002, 004)", series="A*S*2")
STRATEGY_PNL = account_gauge("trader_strategy_pnl_usdt", "PnL attributed to one strategy.",
                      ("account", "strategy"), unit="usdt", answers="per-strategy performance (002)", series="A*S")
SHARPE = account_gauge("trader_sharpe_30d", "Annualised Sharpe ratio of daily returns over 30 days.",
                unit="", answers="Sharpe rolling 30 d (001, 002)")
SORTINO = account_gauge("trader_sortino_30d", "Annualised Sortino ratio of daily returns over 30 days.",
                 unit="", answers="Sortino rolling 30 d (001, 002)")
STRATEGY_SHARPE = account_gauge("trader_strategy_sharpe_30d", "Per-strategy Sharpe ratio over 30 days.",
                         ("account", "strategy"), unit="", answers="per-strategy Sharpe (002)", series="A*S")
PROFIT_FACTOR = account_gauge("trader_profit_factor", "Gross profit / gross loss of closed trades.",
                       unit="", answers="profit factor (004)")


class TradingCollector(Collector):
    specs = (EQUITY, BALANCE, INITIAL_EQUITY, HIGH_WATER_MARK, DAY_START_EQUITY, DAILY_PNL, PNL_REALIZED,
             PNL_UNREALIZED, FUNDING_PNL, COMMISSION, OPEN_POSITIONS, POSITION_QUANTITY, POSITION_NOTIONAL,
             POSITION_UPNL, POSITION_AGE, CLOSED_TRADES, VOLUME, SIGNALS, STRATEGY_PNL, SHARPE, SORTINO,
             STRATEGY_SHARPE, PROFIT_FACTOR)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        markets = markets_of(snapshot)
        exchanges = exchanges_of(snapshot)
        for account in snapshot.accounts:
            name = account.name
            key = (name,)
            add(EQUITY, key, account.equity_usdt)
            add(BALANCE, key, account.balance_usdt)
            add(INITIAL_EQUITY, key, account.initial_equity_usdt)
            add(HIGH_WATER_MARK, key, account.high_water_mark_usdt)
            add(DAY_START_EQUITY, key, account.day_start_equity_usdt)
            add(DAILY_PNL, key, account.daily_pnl_usdt)
            add(PNL_REALIZED, key, account.realized_pnl_usdt)
            add(PNL_UNREALIZED, key, account.unrealized_pnl_usdt)
            add(FUNDING_PNL, key, account.funding_pnl_usdt)
            for exchange in known_then_seen(exchanges, account.commission_usdt):
                add(COMMISSION, (name, exchange), account.commission_usdt.get(exchange, 0))
            grouped = group_positions(account.positions)
            add(OPEN_POSITIONS, key, len(grouped))
            for (exchange, symbol), held in grouped.items():
                labels = (name, exchange, symbol)
                add(POSITION_QUANTITY, labels, sum(p.quantity for p in held))
                add(POSITION_NOTIONAL, labels, sum(p.notional_usdt for p in held))
                add(POSITION_UPNL, labels, sum(p.unrealized_pnl_usdt for p in held))
                add(POSITION_AGE, labels, max(p.age_seconds for p in held))
            for market in known_then_seen(markets, account.volume_usdt):
                add(VOLUME, (name, *market), account.volume_usdt.get(market, 0))
            for strategy in account.strategies:
                add(CLOSED_TRADES, (name, strategy.name, "win"), strategy.wins)
                add(CLOSED_TRADES, (name, strategy.name, "loss"), strategy.losses)
                for side in known_then_seen(SIDES, strategy.signals):
                    add(SIGNALS, (name, strategy.name, side), strategy.signals.get(side, 0))
                add(STRATEGY_PNL, (name, strategy.name), strategy.pnl_usdt)
                if strategy.sharpe_30d is not None:
                    add(STRATEGY_SHARPE, (name, strategy.name), strategy.sharpe_30d)
            for spec, value in ((SHARPE, account.sharpe_30d), (SORTINO, account.sortino_30d),
                                (PROFIT_FACTOR, account.profit_factor)):
                if value is not None:
                    add(spec, key, value)
