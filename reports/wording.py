"""What a report says, in words and phone-formatted numbers: the one place that decides it.

Transports lay these out (Telegram HTML, a Discord embed, an e-mail) and fit them to their
limits; none of them words a figure itself.

    text = words(report)
    text.title       # 'Daily report · main · 2026-05-01 UTC'
    text.summary     # ('Equity 10,240 USDT', 'Return +2.40 % (7 d +3.10 %)', ...)
    text.sections    # (Section('Returns', (('Period', '+2.40 %'), ...)), ...)
    plain_text(text) # the whole report as plain text
"""

from __future__ import annotations

from dataclasses import dataclass

from .figures import TradeStats
from .numbers import NA, count, duration, percent, ratio, usdt, utc_time
from .report import Report

__all__ = ["Section", "Words", "words", "plain_text", "TRADE_GROUP_SECTIONS"]

TRADE_GROUP_SECTIONS = ("By strategy", "By symbol")  # the sections that grow with the trading


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[tuple[str, str], ...]  # (label, value); an empty label: a line of its own


@dataclass(frozen=True)
class Words:
    title: str
    summary: tuple[str, ...]  # the few lines that fit a photo caption or an embed description
    sections: tuple[Section, ...]
    footer: str  # when it was made, in UTC


def _title(report: Report) -> str:
    kind = "Daily" if report.period.kind == "day" else "Weekly"
    title = f"{kind} report · {report.account} · {report.period.label}"
    return title + ("" if report.complete else " (so far)")


def _account_line(report: Report) -> str:
    where = f"{report.kind} account" + (f" on {report.exchange}" if report.exchange else "")
    return where + (f", trader {report.trader}" if report.trader else "")


def _group_line(name: str, stats: TradeStats) -> tuple[str, str]:
    trades = "1 trade" if stats.count == 1 else f"{stats.count} trades"
    return name, f"{trades} · {percent(stats.win_rate)} won · {usdt(stats.net_pnl_usdt, signed=True)}"


def _summary(report: Report) -> tuple[str, ...]:
    r, t, risk = report.returns, report.trades, report.risk
    lines = [
        f"Equity {usdt(report.money.equity_end_usdt)} · PnL {usdt(report.money.pnl_usdt, signed=True)}",
        f"Return {percent(r.period, signed=True)} · 7 d {percent(r.days_7, signed=True)} · "
        f"30 d {percent(r.days_30, signed=True)}",
        f"BTC buy-and-hold {percent(report.benchmark.return_period, signed=True)}",
        (f"{t.count} trades · win rate {percent(t.win_rate)} · profit factor {ratio(t.profit_factor)}"
         if t.count else "No trade closed"),
        f"Max drawdown {percent(risk.max_drawdown_ratio)} · now {percent(risk.current_drawdown_ratio)}",
    ]
    if risk.halted_now:
        lines.append(f"HALTED now ({risk.halt_reason or 'risk'})")
    if report.alerts.available:
        fired = sum(a.times for a in report.alerts.fired)
        lines.append(f"Alerts fired: {fired}" if fired else "No alert fired")
    if report.late_due_at is not None:
        lines.append(f"Sent late: it was due {utc_time(report.late_due_at)}")
    return tuple(lines)


def _sections(report: Report) -> list[Section]:
    m, r, t, risk, b = report.money, report.returns, report.trades, report.risk, report.benchmark
    sections = [
        Section("Equity and PnL", (
            ("Equity at start", usdt(m.equity_start_usdt)), ("Equity at end", usdt(m.equity_end_usdt)),
            ("PnL", usdt(m.pnl_usdt, signed=True)), ("Realised PnL", usdt(m.realized_pnl_usdt, signed=True)),
            ("Unrealised PnL at end", usdt(m.unrealized_pnl_usdt, signed=True)),
            ("Fees", usdt(m.fees_usdt)), ("Funding", usdt(m.funding_usdt, signed=True)),
        ) + ((("Transfers", usdt(m.transfers_usdt, signed=True)),) if m.transfers_usdt else ())),
        Section("Returns", (
            ("Period", percent(r.period, signed=True)), ("7 d", percent(r.days_7, signed=True)),
            ("30 d", percent(r.days_30, signed=True)), ("Year to date", percent(r.year_to_date, signed=True)),
            (f"Since start ({r.days_since_start} d)", percent(r.since_start, signed=True)),
            ("Annualised return", percent(r.annualised_return, signed=True)),
            ("Annualised volatility", percent(r.annualised_volatility)),
        )),
        Section("Trades", (
            ("Closed", count(t.count)), ("Win rate", percent(t.win_rate)),
            ("Profit factor", ratio(t.profit_factor)), ("Expectancy", usdt(t.expectancy_usdt, signed=True)),
            ("Average win / loss", f"{usdt(t.average_win_usdt, signed=True)} / {usdt(t.average_loss_usdt, signed=True)}"),
            ("Largest win / loss", f"{usdt(t.largest_win_usdt, signed=True)} / {usdt(t.largest_loss_usdt, signed=True)}"),
            ("Average holding time", duration(t.average_holding_seconds)),
        )),
    ]
    for title, groups in zip(TRADE_GROUP_SECTIONS, (report.by_strategy, report.by_symbol)):
        if groups:
            sections.append(Section(title, tuple(_group_line(name, stats) for name, stats in groups)))
    sections.append(Section("Risk", (
        ("Max drawdown in period", percent(risk.max_drawdown_ratio)),
        ("Drawdown at end", percent(risk.current_drawdown_ratio)),
        (f"Sharpe 30 d ({risk.daily_returns_30d} days)", ratio(risk.sharpe_30d)),
        (f"Sortino 30 d ({risk.daily_returns_30d} days)", ratio(risk.sortino_30d)),
        ("Time halted", duration(risk.halted_seconds)),
    )))
    s = b.stats
    sections.append(Section(f"Against {b.symbol} buy-and-hold", (
        (f"{b.symbol} return", percent(b.return_period, signed=True)),
        ("Excess return", percent(b.excess_return, signed=True)),
        (f"Beta 30 d ({s.pairs} days)", ratio(s.beta)), ("Alpha 30 d, annualised", percent(s.alpha, signed=True)),
        ("Correlation 30 d", ratio(s.correlation)), ("Information ratio 30 d", ratio(s.information_ratio)),
        ("Tracking error 30 d", percent(s.tracking_error)),
    )))
    alerts = report.alerts
    if not alerts.available:
        sections.append(Section("Alerts", (("", f"unavailable: {alerts.error}"),)))
    else:
        lines = [(a.alertname, f"{a.times}× · {duration(a.firing_seconds)} · {a.severity or NA}") for a in alerts.fired]
        ops = alerts.operational
        if ops is not None:
            lines += [("Trader up", percent(ops.trader_up_ratio)), ("Feed reconnects", count(ops.feed_reconnects)),
                      ("Orders rejected", count(ops.order_rejections))]
        sections.append(Section("Alerts and operations", tuple(lines) or (("", "No alert fired"),)))
    if report.notes:
        sections.append(Section("Notes", tuple(("", note) for note in report.notes)))
    return sections


def words(report: Report) -> Words:
    footer = f"{_account_line(report)} · made {utc_time(report.generated_at)}" + (
        "" if report.complete else f" · period still running")
    return Words(_title(report), _summary(report), tuple(_sections(report)), footer)


def plain_text(text: Words) -> str:
    """The report as plain text: the e-mail's text part, the HTTP endpoint's ``text``."""
    out = [text.title, "", *text.summary]
    for section in text.sections:
        out += ["", section.title]
        out += [f"  {label}: {value}" if label else f"  {value}" for label, value in section.lines]
    out += ["", text.footer]
    return "\n".join(out)
