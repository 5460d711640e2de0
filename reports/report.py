"""The one place that decides what a report holds: a typed, frozen ``Report`` of one account
and period, built from the journal (every trading figure) and Prometheus (alerts, operations).

    report = journal.query(lambda view: build_report(view, "main", period, now, prom))
    report.returns.period, report.trades.win_rate, report.benchmark.beta

A period still running ("so far") is reported up to ``now``. Figures that cannot be computed are
``None`` (too few days, no trade, no BTC mark); ``notes`` says why where a reader would wonder.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from .figures import (BenchmarkStats, TradeStats, annualised_return, annualised_volatility, benchmark_daily_returns,
                      benchmark_return, benchmark_stats, compound, daily_return, drawdown_series, grouped_stats,
                      max_drawdown, sharpe, sortino, trade_stats)
from .journal import BENCHMARK_SYMBOL, AccountRow, DailyRow, JournalView
from .periods import DAY, Period, day_start, day_text
from .prometheus import AlertFired, Operational, PrometheusReader, PrometheusUnavailable

__all__ = ["Report", "Money", "Returns", "Risk", "Benchmark", "Alerts", "Curve", "build_report", "UnknownAccount",
           "RATIO_WINDOW_DAYS"]

_log = logging.getLogger("reports.report")
RATIO_WINDOW_DAYS = 30  # Sharpe, Sortino and the benchmark statistics: the last 30 closed days


class UnknownAccount(LookupError):
    """The journal has no account of that name."""


@dataclass(frozen=True)
class Money:
    equity_start_usdt: float | None
    equity_end_usdt: float
    pnl_usdt: float  # equity change net of transfers (the daily rows' pnl)
    realized_pnl_usdt: float  # of trades closed in the period, before fees and funding
    unrealized_pnl_usdt: float | None  # open positions at the end
    fees_usdt: float
    funding_usdt: float
    transfers_usdt: float


@dataclass(frozen=True)
class Returns:
    period: float | None
    days_7: float | None
    days_30: float | None
    year_to_date: float | None
    since_start: float | None
    days_since_start: int
    annualised_return: float | None  # since start
    annualised_volatility: float | None  # since start


@dataclass(frozen=True)
class Risk:
    max_drawdown_ratio: float | None  # deepest in the period, from the high-water mark
    current_drawdown_ratio: float | None  # at the end of the period
    sharpe_30d: float | None
    sortino_30d: float | None
    daily_returns_30d: int  # how many the two ratios rest on
    halted_seconds: float  # in the period
    halted_now: bool
    halt_reason: str | None


@dataclass(frozen=True)
class Benchmark:
    symbol: str
    exchange: str | None
    return_period: float | None
    excess_return: float | None  # account minus BTC over the period
    stats: BenchmarkStats  # over the last 30 closed days


@dataclass(frozen=True)
class Alerts:
    available: bool
    fired: tuple[AlertFired, ...] = ()
    operational: Operational | None = None
    error: str | None = None  # why Prometheus could not tell


@dataclass(frozen=True)
class Curve:
    """What the chart draws: equity and drawdown at each sample, BTC rebased to the first equity."""

    times: tuple[float, ...]
    equity: tuple[float, ...]
    drawdown: tuple[float, ...]
    benchmark_times: tuple[float, ...]
    benchmark_equity: tuple[float, ...]


@dataclass(frozen=True)
class Report:
    account: str
    kind: str  # paper | exchange
    exchange: str | None
    trader: str | None
    period: Period
    generated_at: float
    complete: bool  # False: the period is still running, figures are "so far"
    late_due_at: float | None  # set when sent late: when it was due
    money: Money
    returns: Returns
    trades: TradeStats
    by_strategy: tuple[tuple[str, TradeStats], ...]
    by_symbol: tuple[tuple[str, TradeStats], ...]
    risk: Risk
    benchmark: Benchmark
    alerts: Alerts
    curve: Curve = field(repr=False)
    notes: tuple[str, ...] = ()

    def figures(self) -> dict[str, Any]:
        """Every figure as plain JSON-able values (the HTTP endpoint's ``figures``), the curve left out."""
        data = asdict(self)
        data.pop("curve")
        data["period"] = {"kind": self.period.kind, "start": self.period.start, "end": self.period.end,
                          "first_day": self.period.first_day, "last_day": self.period.last_day,
                          "label": self.period.label}
        data["by_strategy"] = {name: asdict(stats) for name, stats in self.by_strategy}
        data["by_symbol"] = {name: asdict(stats) for name, stats in self.by_symbol}
        return data


def _returns_of(rows: list[DailyRow]) -> list[float]:
    return [r for r in (daily_return(row.pnl_usdt, row.equity_start_usdt) for row in rows) if r is not None]


def _in_days(rows: list[DailyRow], first: str, last: str) -> list[DailyRow]:
    return [row for row in rows if first <= row.day <= last]


def _returns(daily: list[DailyRow], period: Period, last_day: str) -> Returns:
    def window(days: int) -> float | None:
        return compound(_returns_of(_in_days(daily, day_text(day_start(last_day) - (days - 1) * DAY), last_day)))

    history = _returns_of(daily)
    since = compound(history)
    return Returns(
        period=compound(_returns_of(_in_days(daily, period.first_day, last_day))),
        days_7=window(7), days_30=window(30),
        year_to_date=compound(_returns_of(_in_days(daily, f"{last_day[:4]}-01-01", last_day))),
        since_start=since, days_since_start=len(history),
        annualised_return=annualised_return(since, len(history)),
        annualised_volatility=annualised_volatility(history),
    )


def _benchmark(view: JournalView, daily: list[DailyRow], period: Period, last_day: str,
               account_period_return: float | None) -> Benchmark:
    marks = view.benchmark_marks(last_day)
    closes = {m.day: m.close_price for m in marks}
    opens = {m.day: m.open_price for m in marks}
    btc_return = benchmark_return(closes, period.first_day, last_day, opens)
    closed = [row for row in daily if row.closed][-RATIO_WINDOW_DAYS:]
    account_returns = {row.day: r for row in closed if (r := daily_return(row.pnl_usdt, row.equity_start_usdt)) is not None}
    stats = benchmark_stats(account_returns, benchmark_daily_returns(closes))
    excess = account_period_return - btc_return if None not in (account_period_return, btc_return) else None
    return Benchmark(BENCHMARK_SYMBOL, marks[0].exchange if marks else None, btc_return, excess, stats)


def _alerts(prom: PrometheusReader | None, account: str, start: float, end: float) -> Alerts:
    if prom is None:
        return Alerts(available=False, error="no Prometheus given")
    try:
        return Alerts(True, tuple(prom.alerts_fired(account, start, end)), prom.operational(account, start, end))
    except PrometheusUnavailable as error:
        _log.warning("alerts unavailable for the report", extra={"account": account, "reason": str(error)})
        return Alerts(available=False, error=str(error))


def _curve(view: JournalView, prom: PrometheusReader | None, account: AccountRow, start: float, end: float
           ) -> tuple[Curve, float | None, float | None]:
    samples = view.equity_samples(account.name, start, end)
    peak_before = max((v for v in (view.peak_equity_before(account.name, start), account.initial_equity_usdt) if v),
                      default=None)
    equity = [s.equity_usdt for s in samples]
    drawdown = drawdown_series(equity, peak_before)
    prices: list[tuple[float, float]] = []
    if prom is not None and samples:
        try:
            prices = prom.benchmark_prices(start, end)
        except PrometheusUnavailable:
            prices = []
    if not prices and samples:  # no intraday marks: the daily closes, drawn at each day's end
        marks = {m.day: m for m in view.benchmark_marks(day_text(end - 1))}
        first = marks.get(day_text(start))
        prices = ([(start, first.open_price)] if first else []) + [
            (min(day_start(day) + DAY, end), mark.close_price) for day, mark in sorted(marks.items())
            if start <= day_start(day) < end]
    bench_t, bench_v = [], []
    if prices and equity and prices[0][1] > 0:
        base = prices[0][1]
        bench_t = [t for t, _ in prices]
        bench_v = [equity[0] * price / base for _, price in prices]
    curve = Curve(tuple(s.ts for s in samples), tuple(equity), tuple(drawdown), tuple(bench_t), tuple(bench_v))
    return curve, max_drawdown(equity, peak_before), (drawdown[-1] if drawdown else None)


def build_report(view: JournalView, account_name: str, period: Period, now: float,
                 prom: PrometheusReader | None = None, late_due_at: float | None = None) -> Report:
    """The report of ``account_name`` over ``period`` as the journal knows it at ``now``."""
    account = view.account(account_name)
    if account is None:
        raise UnknownAccount(account_name)
    complete = now >= period.end
    end = min(period.end, now)
    last_day = day_text(end - 1e-6) if end > period.start else period.first_day
    daily = view.daily(account.name, last_day)
    in_period = _in_days(daily, period.first_day, last_day)
    trades = view.trades(account.name, period.start, end)
    returns = _returns(daily, period, last_day)
    curve, period_drawdown, end_drawdown = _curve(view, prom, account, period.start, end)
    last = view.last_sample_before(account.name, end)
    current_drawdown = end_drawdown
    if not complete and account.high_water_mark_usdt > 0:  # the trader's own figure, from its high-water mark
        current_drawdown = max(0.0, (account.high_water_mark_usdt - account.equity_usdt) / account.high_water_mark_usdt)
    equity_end = account.equity_usdt if not complete or last is None else last.equity_usdt
    closed = [row for row in daily if row.closed][-RATIO_WINDOW_DAYS:]
    ratio_returns = _returns_of(closed)
    notes = []
    open_days = [row.day for row in in_period if not row.closed and complete]
    if open_days:
        notes.append(f"The trader had not closed {', '.join(open_days)} (was it stopped at 00:00 UTC?): "
                     "figures are its latest.")
    if not in_period and not trades:
        notes.append("The journal has no activity of this account in the period.")
    if len(ratio_returns) < 7:
        notes.append(f"Sharpe, Sortino and the BTC statistics need 7 closed days; there are {len(ratio_returns)}.")
    return Report(
        account=account.name, kind=account.kind, exchange=account.exchange, trader=view.meta().get("trader"),
        period=period, generated_at=now, complete=complete, late_due_at=late_due_at,
        money=Money(
            equity_start_usdt=in_period[0].equity_start_usdt if in_period else None,
            equity_end_usdt=equity_end,
            pnl_usdt=sum(row.pnl_usdt for row in in_period),
            realized_pnl_usdt=sum(t.pnl_usdt for t in trades),
            unrealized_pnl_usdt=last.unrealized_pnl_usdt if last else None,
            fees_usdt=sum(row.fees_usdt for row in in_period),
            funding_usdt=sum(row.funding_usdt for row in in_period),
            transfers_usdt=sum(row.transfers_usdt for row in in_period),
        ),
        returns=returns,
        trades=trade_stats(trades),
        by_strategy=tuple(grouped_stats(trades, lambda t: t.strategy)),
        by_symbol=tuple(grouped_stats(trades, lambda t: t.symbol)),
        risk=Risk(
            max_drawdown_ratio=period_drawdown, current_drawdown_ratio=current_drawdown,
            sharpe_30d=sharpe(ratio_returns), sortino_30d=sortino(ratio_returns),
            daily_returns_30d=len(ratio_returns),
            halted_seconds=sum(row.halted_seconds for row in in_period),
            halted_now=account.halted and not complete, halt_reason=account.halt_reason if account.halted else None,
        ),
        benchmark=_benchmark(view, daily, period, last_day, returns.period),
        alerts=_alerts(prom, account.name, period.start, end),
        curve=curve,
        notes=tuple(notes),
    )
