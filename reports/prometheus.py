"""What the reports read from Prometheus (https://prometheus.io/docs/prometheus/latest/querying/api/):
the alerts that fired in a period, a few operational figures, BTC's mark price within a day.

    prom = PrometheusReader("http://prometheus:9090", trader="paper-1")
    fired = prom.alerts_fired("main", start, end)  # [AlertFired("TraderDrawdownHigh", "critical", 2, 1500.0)]

The journal is the source of every trading figure; Prometheus only knows the last 30 days
(compose's retention), so a report never fails because of it: each call raises
``PrometheusUnavailable`` with one line, and the report says the part is unavailable.

Series are matched on ``trader=~"<name>|"`` and ``account=~"<name>|"``: a series with that label
value, or without the label (system-wide alerts, and a stack whose series carry no trader label).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["PrometheusReader", "PrometheusUnavailable", "AlertFired", "Operational", "STEP_SECONDS"]

# Alert history is sampled per minute, each step seeing the minute before it (last_over_time), so
# an alert firing for less than a minute is still seen; two episodes a minute apart count as one.
STEP_SECONDS = 60.0
_MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series in one range query


class PrometheusUnavailable(Exception):
    """Prometheus could not answer; ``str()`` is one line naming the URL and why."""


@dataclass(frozen=True)
class AlertFired:
    alertname: str
    severity: str
    times: int  # firing episodes in the period (over every instance of the alert)
    firing_seconds: float  # minutes seen firing, over every instance


@dataclass(frozen=True)
class Operational:
    trader_up_ratio: float | None  # share of the period the trader was scraped up
    feed_reconnects: float | None  # WebSocket reconnections
    order_rejections: float | None  # orders the broker rejected, this account


def _quote(value: str) -> str:
    """A PromQL regex alternative matching ``value`` literally."""
    special = set("\\.^$*+?()[]{}|\"")
    return "".join(f"\\\\{c}" if c in special else c for c in value)


class PrometheusReader:
    def __init__(self, url: str, trader: str | None = None, session: requests.Session | None = None,
                 timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self.trader = trader
        self.session = session or requests.Session()
        self.timeout = timeout

    def _matchers(self, account: str | None) -> str:
        parts = []
        if self.trader:
            parts.append(f'trader=~"{_quote(self.trader)}|"')
        if account is not None:
            parts.append(f'account=~"{_quote(account)}|"')
        return ", ".join(parts)

    def _call(self, path: str, **params: Any) -> Any:
        try:
            response = self.session.post(f"{self.url}{path}", data=params, timeout=self.timeout)
            body = response.json()
        except requests.RequestException as error:
            raise PrometheusUnavailable(f"Prometheus at {self.url} is unreachable ({type(error).__name__})") from None
        except ValueError:
            raise PrometheusUnavailable(f"Prometheus at {self.url} answered HTTP {response.status_code} without "
                                        "the API's JSON") from None
        if body.get("status") != "success":
            raise PrometheusUnavailable(f"Prometheus at {self.url} refused a query: {body.get('error', 'no reason')}")
        return body["data"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[tuple[dict, list[tuple[float, float]]]]:
        """Every series of ``expr`` at ``start, start + step, ...``, in chunks under the point limit."""
        merged: dict[tuple, tuple[dict, list[tuple[float, float]]]] = {}
        at = start
        while at <= end:
            stop = min(end, at + step * (_MAX_POINTS - 1))
            data = self._call("/api/v1/query_range", query=expr, start=f"{at:.3f}", end=f"{stop:.3f}", step=f"{step:g}")
            for item in data["result"]:
                labels = item["metric"]
                points = merged.setdefault(tuple(sorted(labels.items())), (labels, []))[1]
                points.extend((float(t), float(v)) for t, v in item["values"])
            at = stop + step
        return list(merged.values())

    def query(self, expr: str, at: float) -> list[tuple[dict, float]]:
        data = self._call("/api/v1/query", query=expr, time=f"{at:.3f}")
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]

    def alerts_fired(self, account: str, start: float, end: float) -> list[AlertFired]:
        """Alerts of ``account`` (and system-wide ones) that fired in [start, end), from ``ALERTS``.

        Each per-minute step looks back one minute, so the steps from ``start + 1 min`` to ``end``
        cover the period exactly; an episode is a run of consecutive firing steps of one series.
        """
        selector = self._selector("ALERTS", account, 'alertstate="firing"')
        expr = f"last_over_time({selector}[{STEP_SECONDS:g}s])"
        series = self.query_range(expr, start + STEP_SECONDS, end, STEP_SECONDS)
        totals: dict[tuple[str, str], list[float]] = {}
        for labels, points in series:
            times = sorted(t for t, _ in points)
            episodes = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > STEP_SECONDS * 1.5)
            key = (labels.get("alertname", "?"), labels.get("severity", ""))
            total = totals.setdefault(key, [0, 0.0])
            total[0] += episodes
            total[1] += len(times) * STEP_SECONDS
        fired = [AlertFired(name, severity, int(n), seconds) for (name, severity), (n, seconds) in totals.items()]
        order = {"critical": 0, "warning": 1, "info": 2}
        return sorted(fired, key=lambda a: (order.get(a.severity, 3), -a.times, a.alertname))

    def _selector(self, name: str, account: str | None = None, *extra: str) -> str:
        matchers = ", ".join(filter(None, [*extra, self._matchers(account)]))
        return f"{name}{{{matchers}}}" if matchers else name

    def operational(self, account: str, start: float, end: float) -> Operational:
        """Whole-period figures at ``end``: scrape availability, reconnects, rejected orders."""
        window = f"{max(1, int(round(end - start)))}s"

        def one(expr: str) -> float | None:
            values = [v for _, v in self.query(expr, end) if math.isfinite(v)]
            return values[0] if values else None

        up = self._selector("up", None, 'job=~"trader.*"')
        reconnects = self._selector("trader_feed_reconnects_total")
        rejections = self._selector("trader_order_rejections_total", account)
        return Operational(
            trader_up_ratio=one(f"min(avg_over_time({up}[{window}]))"),
            feed_reconnects=one(f"sum(increase({reconnects}[{window}]))"),
            order_rejections=one(f"sum(increase({rejections}[{window}]))"),
        )

    def benchmark_prices(self, start: float, end: float, symbol: str = "BTCUSDT") -> list[tuple[float, float]]:
        """``trader_mark_price_usdt`` of ``symbol`` (binance preferred) over [start, end), for the chart."""
        step = max(STEP_SECONDS, math.ceil((end - start) / 1500 / STEP_SECONDS) * STEP_SECONDS)
        series = self.query_range(self._selector("trader_mark_price_usdt", None, f'symbol="{symbol}"'), start, end, step)
        if not series:
            return []
        series.sort(key=lambda s: (s[0].get("exchange") != "binance", s[0].get("exchange", "")))
        return [(t, v) for t, v in series[0][1] if t < end]
