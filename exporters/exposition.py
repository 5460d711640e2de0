"""Sinks that collectors write samples into: a fast text writer and a prometheus_client adapter.

A collector's ``emit(snapshot, state, sink)`` calls ``sink.add(spec, label_values, value)`` and
``sink.histogram(spec, label_values, row)``. ``FastSink`` turns those into exposition lines with
the series prefixes each ``MetricSpec`` caches, into one list per family joined once at the end
(about a third of the work of building prometheus_client ``Metric`` objects and running its
``generate_latest``; see ``benchmarks/scrape_cost.py``). ``FamilySink`` builds the stock
families, so every collector is also an ordinary prometheus_client collector.

Both sinks drop non-finite values and negative counter values (OpenMetrics forbids them and
Prometheus would read a drop as a counter reset) and count the drops in ``dropped``.

    >>> from exporters.families import MetricSpec
    >>> spec = MetricSpec("trader_demo_usdt", "gauge", "Demo.", ("account",), unit="usdt", requirement="-")
    >>> sink = FastSink()
    >>> sink.add(spec, ("main",), 12.5); sink.add(spec, ("spare",), float("nan"))
    >>> print(sink.render(openmetrics=False), end="")
    # HELP trader_demo_usdt Demo.
    # TYPE trader_demo_usdt gauge
    trader_demo_usdt{account="main"} 12.5
    >>> sink.dropped
    1
"""

from __future__ import annotations

from math import isfinite
from time import sleep
from typing import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from exporters.families import MetricSpec

__all__ = ["FastSink", "FamilySink", "TEXT_CONTENT_TYPE", "OPENMETRICS_CONTENT_TYPE"]

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _format_value(spec: MetricSpec, value: float) -> str | None:
    """The sample's value as text, or None when it must not be exposed."""
    kind = value.__class__
    if kind is int:
        text = str(value)  # counters are ints: skip float formatting entirely
    elif kind is bool:
        return "1" if value else "0"
    else:
        value = float(value)  # also turns numpy scalars into floats, whose repr is plain
        if not isfinite(value):
            return None
        text = repr(value)
    if value < 0 and spec.type == "counter":
        return None
    return text


# When rendering off the loop thread, give the GIL back every this many samples. CPython lets a
# thread that wants the GIL wait up to the switch interval (5 ms) before the holder must drop
# it; a render of a few thousand series takes about that long, so without these pauses the
# market-data loop could wait the whole render. A 50 us sleep every 64 samples bounds the wait
# to the time of 64 samples (~0.1 ms) and adds a few ms of wall time (not CPU) to a large scrape.
YIELD_EVERY = 64
YIELD_SECONDS = 50e-6


class FastSink:
    """Collects exposition lines per family; ``render()`` joins them once.

    ``yield_gil``: pause briefly every ``YIELD_EVERY`` samples (for a server thread).
    """

    __slots__ = ("_lines", "dropped", "_budget", "_yield")

    def __init__(self, yield_gil: bool = False) -> None:
        self._lines: dict[MetricSpec, list[str]] = {}
        self.dropped = 0
        self._yield = yield_gil
        self._budget = YIELD_EVERY

    def _pause(self) -> None:
        self._budget = YIELD_EVERY
        if self._yield:
            sleep(YIELD_SECONDS)

    def add(self, spec: MetricSpec, values: tuple, value: float) -> None:
        self._budget -= 1
        if not self._budget:
            self._pause()
        text = _format_value(spec, value)
        if text is None:
            self.dropped += 1
            return
        lines = self._lines.get(spec)
        if lines is None:
            lines = self._lines[spec] = []
        lines.append(spec.line_prefix(values) + text)

    def histogram(self, spec: MetricSpec, values: tuple, row: list[float]) -> None:
        """``row``: per-bucket counts (not cumulative, the one above the last bound last), then the sum."""
        self._budget -= 1
        if not self._budget:
            self._pause()
        prefixes = spec.histogram_prefixes(values)
        lines = self._lines.get(spec)
        if lines is None:
            lines = self._lines[spec] = []
        total = 0
        for prefix, count in zip(prefixes, row[:-1]):
            total += count
            lines.append(prefix + str(total))
        lines.append(prefixes[-2] + str(total))
        lines.append(prefixes[-1] + repr(float(row[-1])))

    def render(self, openmetrics: bool) -> str:
        out: list[str] = []
        for spec, lines in self._lines.items():
            out.append(spec.openmetrics_header if openmetrics else spec.text_header)
            out.append("\n".join(lines))
            out.append("\n")
        return "".join(out)


class FamilySink:
    """Builds prometheus_client metric families from the same calls, for ``collect()``."""

    __slots__ = ("_families", "dropped")

    def __init__(self) -> None:
        self._families: dict[MetricSpec, Metric] = {}
        self.dropped = 0

    def _family(self, spec: MetricSpec) -> Metric:
        family = self._families.get(spec)
        if family is None:
            kind = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily,
                    "histogram": HistogramMetricFamily}[spec.type]
            family = self._families[spec] = kind(spec.family_name, spec.help, labels=spec.labels)
        return family

    def declare(self, spec: MetricSpec) -> None:
        self._family(spec)

    def add(self, spec: MetricSpec, values: tuple, value: float) -> None:
        if _format_value(spec, value) is None:
            self.dropped += 1
            return
        self._family(spec).add_metric([str(v) for v in values], float(value))

    def histogram(self, spec: MetricSpec, values: tuple, row: list[float]) -> None:
        buckets, total = [], 0
        for bound, count in zip(spec.bucket_bounds(), row[:-1]):
            total += count
            buckets.append((bound, total))
        self._family(spec).add_metric([str(v) for v in values], buckets, float(row[-1]))

    def families(self) -> Iterator[Metric]:
        return iter(list(self._families.values()))
