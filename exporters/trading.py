"""Trading family: equity, PnL, positions, trades, volume, signals, per-strategy figures.

Everything here is read from the snapshot's accounts. Absent figures stay absent: no Sharpe or
Sortino before the trader has enough returns, no profit factor before a losing trade, no position
series for a market the account does not hold. Usage: ``TradingCollector(trader.snapshot,
registry=registry)``; ``exporters.registry.build_registry`` wires every family.

A per-account figure the snapshot holds as a field is one line of ``ACCOUNT_FIGURES``; the
collector's code below is for the labelled series only. The numbers in ``requirement`` are the
source documents (shared/seeds/000-004) that ask for the figure.
"""

from __future__ import annotations

from exporters.collector import Collector, exchanges_of, group_positions, markets_of
from exporters.families import ACCOUNT_MARKET, MetricSpec, account_gauge, emit_account_figures, known_then_seen
from trader.snapshot import TraderSnapshot
from trader.vocabulary import SIDES

__all__ = ["TradingCollector", "ACCOUNT_FIGURES"]

_ENOUGH_RETURNS = "until 7 daily returns"  # trader.risk.MIN_DAILY_RETURNS closed UTC days

# Per-account figures, each read from the AccountSnapshot field it names.
ACCOUNT_FIGURES: tuple[MetricSpec, ...] = (
    account_gauge("trader_equity_usdt", "Account equity: wallet balance plus unrealised PnL.",
                  reads="equity_usdt", unit="usdt", requirement="equity (001 dashboard, 002 metric list)"),
    account_gauge("trader_balance_usdt", "Wallet balance: deposits + realised PnL - fees +/- funding.",
                  reads="balance_usdt", unit="usdt", requirement="equity (001, 002)"),
    account_gauge("trader_initial_equity_usdt", "Equity the account started with.",
                  reads="initial_equity_usdt", unit="usdt", requirement="PnL ratio denominator (001, 002)"),
    account_gauge("trader_high_water_mark_usdt", "Highest equity seen; the drawdown reference.",
                  reads="high_water_mark_usdt", unit="usdt", requirement="drawdown from peak (000, 001)"),
    account_gauge("trader_day_start_equity_usdt", "Equity at 00:00 UTC, or at start if later.",
                  reads="day_start_equity_usdt", unit="usdt", requirement="daily PnL ratio denominator (000 daily loss)"),
    account_gauge("trader_daily_pnl_usdt", "Equity change since 00:00 UTC.",
                  reads="daily_pnl_usdt", unit="usdt", requirement="daily PnL (000 monitors, 001, 002 daily loss limit)"),
    account_gauge("trader_pnl_realized_usdt", "Trading PnL of closed quantity, before fees and funding.",
                  reads="realized_pnl_usdt", unit="usdt", requirement="PnL realised, trading PnL (001, 002)"),
    account_gauge("trader_pnl_unrealized_usdt", "Unrealised PnL of open positions at the mark price.",
                  reads="unrealized_pnl_usdt", unit="usdt", requirement="PnL unrealised (001, 002)"),
    account_gauge("trader_funding_pnl_usdt", "Funding received (positive) or paid (negative) since start.",
                  reads="funding_pnl_usdt", unit="usdt", requirement="funding PnL (001)"),
    account_gauge("trader_sharpe_30d",
                  "Sharpe ratio of the last 30 daily returns (closed UTC days, from the journal), annualised "
                  "with sqrt(365).",
                  reads="sharpe_30d", unit="", requirement="Sharpe rolling 30 d (001, 002)", absent=_ENOUGH_RETURNS),
    account_gauge("trader_sortino_30d",
                  "Sortino ratio (downside deviation) of the last 30 daily returns (closed UTC days, from the "
                  "journal), annualised with sqrt(365).",
                  reads="sortino_30d", unit="", requirement="Sortino rolling 30 d (001, 002)", absent=_ENOUGH_RETURNS),
    account_gauge("trader_profit_factor", "Gross profit / gross loss of closed trades.",
                  reads="profit_factor", unit="", requirement="profit factor (004)", absent="until a losing trade"),
)

COMMISSION = MetricSpec("trader_commission_usdt_total", "counter", "Trading fees paid since start.",
                        ("account", "exchange"), unit="usdt", requirement="commission (001, 002)", series="A*E")
OPEN_POSITIONS = account_gauge("trader_open_positions", "Markets with an open position.",
                               unit="", requirement="open positions (001, 002)")
POSITION_QUANTITY = account_gauge("trader_position_quantity", "Signed position size in the base asset (> 0 long).",
                                  ACCOUNT_MARKET, unit="", requirement="open positions (001, 002)", series="P")
POSITION_NOTIONAL = account_gauge("trader_position_notional_usdt", "Absolute position value at the mark price.",
                                  ACCOUNT_MARKET, unit="usdt", requirement="notional (001)", series="P")
POSITION_UPNL = account_gauge("trader_position_unrealized_pnl_usdt", "Unrealised PnL of one position.",
                              ACCOUNT_MARKET, unit="usdt", requirement="PnL unrealised per position (001)", series="P")
POSITION_ENTRY = account_gauge("trader_position_entry_price_usdt", "Average entry price of the position.",
                               ACCOUNT_MARKET, unit="usdt", requirement="entry price per position (issue 14)",
                               series="P")
POSITION_MARK = account_gauge("trader_position_mark_price_usdt",
                              "Mark price the position is valued at (the exchange's, for an exchange account).",
                              ACCOUNT_MARKET, unit="usdt", requirement="mark price per position (issue 14)", series="P")
POSITION_AGE = account_gauge("trader_position_age_seconds",
                             "Time since the position was opened (the oldest, if combined).", ACCOUNT_MARKET,
                             unit="seconds", requirement="position age, held too long (000 > 1 h, 002 timeout)",
                             series="P")
CLOSED_TRADES = MetricSpec("trader_closed_trades_total", "counter", "Closed round trips by outcome.",
                           ("account", "strategy", "status"), unit="",
                           requirement="win rate (000 < 40 % with > 10 trades)", series="A*S*2")
VOLUME = MetricSpec("trader_volume_usdt_total", "counter", "Filled notional since start.",
                    ACCOUNT_MARKET, unit="usdt", requirement="volume (002)", series="A*M")
SIGNALS = MetricSpec("trader_signals_total", "counter", "Strategy signals by side.",
                     ("account", "strategy", "side"), unit="", requirement="signals by strategy (002, 004)",
                     series="A*S*2")
STRATEGY_PNL = account_gauge("trader_strategy_pnl_usdt", "PnL attributed to one strategy.",
                             ("account", "strategy"), unit="usdt", requirement="per-strategy performance (002)",
                             series="A*S")
STRATEGY_SHARPE = account_gauge("trader_strategy_sharpe_30d",
                                "Sharpe ratio of a strategy's last 30 daily returns: its closed trades' net PnL "
                                "each UTC day over the account's day-start equity, annualised with sqrt(365).",
                                ("account", "strategy"), unit="", requirement="per-strategy Sharpe (002)",
                                series="A*S", absent=_ENOUGH_RETURNS)

# The heartbeat of "alive but not trading" (TraderStrategyNotEvaluating, TraderStrategyNoOrders).
STRATEGY_LAST_EVALUATION = account_gauge(
    "trader_strategy_last_evaluation_timestamp_seconds",
    "When the strategy last evaluated the market (sampled a bar of the symbol), epoch seconds.",
    ("account", "strategy", "exchange", "symbol"), unit="seconds",
    requirement="per-strategy heartbeat: alive but not trading (issue 13)", series="A*S*M",
    absent="until the strategy's first bar of the symbol")
STRATEGY_LAST_ORDER = account_gauge(
    "trader_strategy_last_order_timestamp_seconds",
    "When the strategy last placed an order (entry or exit), epoch seconds; its start before the first.",
    ("account", "strategy"), unit="seconds", requirement="no order from an enabled strategy (issue 13)",
    series="A*S", absent="for exchange accounts (nothing there is a strategy's)")


class TradingCollector(Collector):
    specs = ACCOUNT_FIGURES + (COMMISSION, OPEN_POSITIONS, POSITION_QUANTITY, POSITION_NOTIONAL, POSITION_UPNL,
                               POSITION_AGE, CLOSED_TRADES, VOLUME, SIGNALS, STRATEGY_PNL, STRATEGY_SHARPE,
                               POSITION_ENTRY, POSITION_MARK, STRATEGY_LAST_EVALUATION, STRATEGY_LAST_ORDER)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        markets = markets_of(snapshot)
        exchanges = exchanges_of(snapshot)
        for account in snapshot.accounts:
            emit_account_figures(ACCOUNT_FIGURES, account, sink)
            name = account.name
            for exchange in known_then_seen(exchanges, account.commission_usdt):
                add(COMMISSION, (name, exchange), account.commission_usdt.get(exchange, 0))
            grouped = group_positions(account.positions)
            add(OPEN_POSITIONS, (name,), len(grouped))
            for (exchange, symbol), held in grouped.items():
                labels = (name, exchange, symbol)
                add(POSITION_QUANTITY, labels, sum(p.quantity for p in held))
                add(POSITION_NOTIONAL, labels, sum(p.notional_usdt for p in held))
                add(POSITION_UPNL, labels, sum(p.unrealized_pnl_usdt for p in held))
                add(POSITION_AGE, labels, max(p.age_seconds for p in held))
                size = sum(abs(p.quantity) for p in held)
                if size > 0:  # combined positions: the size-weighted entry, one mark
                    add(POSITION_ENTRY, labels, sum(abs(p.quantity) * p.entry_price for p in held) / size)
                add(POSITION_MARK, labels, held[0].mark_price)
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
                for (exchange, symbol), ts in strategy.last_evaluation_ts.items():
                    add(STRATEGY_LAST_EVALUATION, (name, strategy.name, exchange, symbol), ts)
                if strategy.last_order_ts is not None:
                    add(STRATEGY_LAST_ORDER, (name, strategy.name), strategy.last_order_ts)
