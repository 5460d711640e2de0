"""The report's chart: a PNG of the equity curve, the BTC buy-and-hold line rebased to the same
start, and the drawdown shaded below, sized and lettered for a phone screen.

    png = chart_png(report)            # bytes, 1080 x 1350 pixels
    Path("report.png").write_bytes(png)

Portrait 4:5 (what Telegram and Discord show full width on a phone), large type, thick lines,
colours that hold on light and dark chat themes. Times are UTC and the axis says so. Drawn with
matplotlib's object API on the Agg canvas (no pyplot, no display; safe in a worker thread).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402 - after choosing the backend
from matplotlib.dates import AutoDateLocator, DateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from .numbers import percent  # noqa: E402
from .report import Report  # noqa: E402

__all__ = ["chart_png", "CHART_SIZE_PIXELS"]

CHART_SIZE_PIXELS = (1080, 1350)
_DPI = 150
EQUITY_COLOUR = "#1565c0"  # blue
BENCHMARK_COLOUR = "#ef6c00"  # orange: tells apart from blue for colour-blind readers too
DRAWDOWN_COLOUR = "#c62828"  # red


def _dates(times) -> list[datetime]:
    return [datetime.fromtimestamp(t, timezone.utc) for t in times]


def chart_png(report: Report) -> bytes:
    width, height = CHART_SIZE_PIXELS
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3], "hspace": 0.08})
    curve = report.curve
    so_far = "" if report.complete else " (so far)"
    figure.suptitle(f"{report.account} · {report.period.label}{so_far}", fontsize=15, fontweight="bold",
                    x=0.06, ha="left", y=0.975)
    figure.text(0.06, 0.935, f"Return {percent(report.returns.period, signed=True)} · BTC "
                             f"{percent(report.benchmark.return_period, signed=True)} · max drawdown "
                             f"{percent(report.risk.max_drawdown_ratio)}", fontsize=12, color="#333333")
    if curve.times:
        when = _dates(curve.times)
        top.plot(when, curve.equity, color=EQUITY_COLOUR, linewidth=2.6, label="Equity")
        if curve.benchmark_times:
            top.plot(_dates(curve.benchmark_times), curve.benchmark_equity, color=BENCHMARK_COLOUR, linewidth=2.0,
                     linestyle="--", label="BTC buy-and-hold")
        drawdown = [-d for d in curve.drawdown]
        bottom.fill_between(when, drawdown, 0, color=DRAWDOWN_COLOUR, alpha=0.35, linewidth=0)
        bottom.plot(when, drawdown, color=DRAWDOWN_COLOUR, linewidth=1.6)
        top.legend(loc="upper left", fontsize=12, frameon=True, framealpha=0.9)
    else:
        top.text(0.5, 0.5, "No equity samples in this period", ha="center", va="center", fontsize=14,
                 transform=top.transAxes, color="#555555")
    top.set_ylabel("Equity (USDT)", fontsize=13)
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    bottom.set_ylabel("Drawdown", fontsize=13)
    bottom.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    bottom.set_xlabel("Time (UTC)", fontsize=13)
    bottom.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))
    bottom.xaxis.set_major_formatter(DateFormatter("%H:%M" if report.period.kind == "day" else "%a %d",
                                                   tz=timezone.utc))
    for axes in (top, bottom):
        axes.grid(True, color="#cccccc", linewidth=0.8)
        axes.tick_params(labelsize=12)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    figure.subplots_adjust(left=0.17, right=0.96, top=0.90, bottom=0.08)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, facecolor="white")
    return buffer.getvalue()
