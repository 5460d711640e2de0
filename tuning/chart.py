"""The sweep chart: the compared series, each candidate threshold as a line, and its firing spans.

    sweep_chart(api, plan, outcomes, Path("tuning-TraderDrawdownHigh.png"))

The series is the other side of the comparison that reads the threshold (``trader_drawdown_ratio``
in ``trader_drawdown_ratio > on () group_left () trader:drawdown_limit:ratio``); each candidate's
line is the value the threshold side takes with it (``-1 * T`` draws at ``-V``). An alert whose
threshold is not compared on its own (an SLO target inside a burn rate) gets the spans only.
Headless (Agg backend).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402 - after choosing the backend
import matplotlib.pyplot as plt  # noqa: E402

from .evaluate import Outcome, Plan  # noqa: E402
from .expression import compared_series, format_number, threshold_side, with_thresholds  # noqa: E402
from .prom_api import PrometheusAPI  # noqa: E402
from .timeparse import format_duration  # noqa: E402

__all__ = ["write_chart", "sweep_chart"]

_MAX_SERIES = 8


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def write_chart(path: Path, title: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
                thresholds: Sequence[float | None], outcomes: Sequence[Outcome]) -> Path:
    rows = max(len(outcomes), 1)
    fig, (top, spans) = plt.subplots(2, 1, figsize=(11, 5 + 0.25 * rows), sharex=True,
                                     gridspec_kw={"height_ratios": [3, max(1, 0.35 * rows)]})
    colours = plt.get_cmap("viridis")(
        [i / max(len(outcomes) - 1, 1) for i in range(len(outcomes))]) if outcomes else []
    for label, points in list(series)[:_MAX_SERIES]:
        if points:
            top.plot([_dt(t) for t, _ in points], [v for _, v in points], linewidth=1.2, label=label)
    for outcome, level, colour in zip(outcomes, thresholds, colours):
        if level is not None:
            top.axhline(level, color=colour, linestyle="--", linewidth=0.9,
                        label=f"threshold {format_number(outcome.value)}")
    top.set_title(title, fontsize=10)
    top.grid(True, alpha=0.3)
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=7, loc="best", ncol=2)
    for row, (outcome, colour) in enumerate(zip(outcomes, colours)):
        bars = [(_dt(max(e.fired_at, outcome.start)),
                 _dt(min(e.resolved_at or outcome.end, outcome.end)) - _dt(max(e.fired_at, outcome.start)))
                for e in outcome.episodes]
        if bars:
            spans.broken_barh([(mdates.date2num(s), d.total_seconds() / 86400) for s, d in bars],
                              (row - 0.4, 0.8), color=colour)
    spans.set_yticks(range(len(outcomes)))
    spans.set_yticklabels([format_number(o.value) for o in outcomes], fontsize=7)
    spans.set_ylim(-0.6, rows - 0.4)
    spans.set_ylabel("firing", fontsize=8)
    if outcomes:
        spans.set_xlim(_dt(outcomes[0].start), _dt(outcomes[0].end))
    spans.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=timezone.utc))
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_chart(api: PrometheusAPI, plan: Plan, outcomes: Sequence[Outcome], path: Path) -> Path:
    """Query the compared series and each candidate's threshold level, and draw them."""
    rule = next((r for r in plan.alert if compared_series(r.expr, plan.threshold, plan.rules)), plan.alert[0])
    series_expr = compared_series(rule.expr, plan.threshold, plan.rules)
    series: list[tuple[str, Sequence[tuple[float, float]]]] = []
    levels: list[float | None] = [None] * len(outcomes)
    if series_expr is not None:
        for labels, points in api.query_range(with_thresholds(series_expr, {}, plan.rules), plan.start, plan.end,
                                              plan.interval(rule)):
            shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("__name__", "job", "instance"))
            series.append((shown or series_expr, points))
        side = threshold_side(rule.expr, plan.threshold, plan.rules)
        levels = []
        for outcome in outcomes:
            result = api.query(with_thresholds(side, {plan.threshold: outcome.value}, plan.rules), plan.end)
            levels.append(result[0][1] if result else None)
    shown = (series_expr or rule.name).replace("{}", "")
    title = f"{rule.name}: {shown} vs {plan.threshold.selector} (for {format_duration(plan.hold(rule))})"
    return write_chart(path, title, series, levels, outcomes)
