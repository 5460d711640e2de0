"""What a metric is (``MetricSpec``) and the event-fed histogram state the exporters keep.

A ``MetricSpec`` is written once per metric in its family module (``trading.py``...). The same
object drives the fast writer (``exposition.py``), the prometheus_client families that ``collect()``
yields, and the generated docs (``docs/metrics.md``, the tables of ``docs/architecture.md``).

A per-account figure read straight off ``AccountSnapshot`` names the field it ``reads``; its
family's collector emits every such spec in one loop, so adding one is one ``account_gauge``
line (and the snapshot field with its producer). A figure that is ``None`` is not exposed.

    >>> spec = MetricSpec("trader_demo_total", "counter", "Demo events.", ("exchange",),
    ...                   unit="", requirement="nothing", series="E")
    >>> spec.family_name, spec.line_prefix(("okx",))
    ('trader_demo', 'trader_demo_total{exchange="okx"} ')
    >>> equity = account_gauge("trader_demo_equity_usdt", "Demo.", reads="equity_usdt", unit="usdt", requirement="-")
    >>> class Account: equity_usdt = 10_240.5
    >>> equity.read(Account)
    10240.5
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Any, Callable, Iterable

__all__ = ["MetricSpec", "HistogramState", "known_then_seen", "escape_label_value", "account_gauge",
           "emit_account_figures", "ACCOUNT", "ACCOUNT_MARKET"]

_TYPES = ("gauge", "counter", "histogram")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_bound(bound: float) -> str:
    # The ``le`` strings Prometheus' own clients write ("0.005", "1.0", "+Inf").
    return "+Inf" if bound == math.inf else repr(float(bound))


class MetricSpec:
    """One metric family: name, type, help, labels, and the requirement it serves.

    ``requirement`` names the figure of the source documents (shared/seeds/000-004, the systems
    this project replaces) the metric provides; ``absent`` says when the series is left out
    (e.g. "until enough returns"), for the docs; ``reads`` names the snapshot field (dotted) a
    figure is read from, when it is read straight off one.

    Hashes by identity (specs are module constants) so the writer's per-render dict lookups stay
    cheap, and caches the formatted series prefix per label values: a series' name and labels are
    escaped and joined once in the process' life, not once per scrape.
    """

    __slots__ = ("name", "type", "help", "labels", "unit", "requirement", "absent", "reads", "read", "buckets",
                 "series", "family_name", "text_header", "openmetrics_header", "_prefixes", "_bucket_strings")

    def __init__(self, name: str, type: str, help: str, labels: tuple[str, ...] = (), *,
                 unit: str, requirement: str, series: str = "1", buckets: tuple[float, ...] = (),
                 absent: str = "", reads: str | None = None) -> None:
        if type not in _TYPES:
            raise ValueError(f"metric {name}: type {type!r} is not one of {', '.join(_TYPES)}")
        if type == "counter" and not name.endswith("_total"):
            raise ValueError(f"metric {name}: a counter's name must end in _total")
        if (type == "histogram") != bool(buckets):
            raise ValueError(f"metric {name}: buckets are required for histograms and only for them")
        if list(buckets) != sorted(set(buckets)) or any(not math.isfinite(b) for b in buckets):
            raise ValueError(f"metric {name}: buckets {buckets!r} must be finite and strictly increasing")
        self.name = name
        self.type = type
        self.help = help
        self.labels = tuple(labels)
        self.unit = unit
        self.requirement = requirement
        self.absent = absent
        self.reads = reads
        self.read: Callable[[Any], Any] | None = _reader(reads) if reads else None
        self.buckets = tuple(float(b) for b in buckets)
        # At most how many series, as a product of the catalogue's scale variables (A accounts,
        # E exchanges, M markets, S strategies per account, P positions, N API endpoints, D drills).
        self.series = series
        # OpenMetrics names a counter family without its ``_total`` sample suffix.
        self.family_name = name[: -len("_total")] if type == "counter" else name
        help_line = _escape_help(help)
        self.text_header = f"# HELP {name} {help_line}\n# TYPE {name} {type}\n"
        self.openmetrics_header = f"# HELP {self.family_name} {help_line}\n# TYPE {self.family_name} {type}\n"
        self._prefixes: dict[tuple, str] = {}
        self._bucket_strings: dict[tuple, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"MetricSpec({self.name!r})"

    def _labels_text(self, values: tuple, extra: str = "") -> str:
        if len(values) != len(self.labels):
            raise ValueError(f"metric {self.name}: got label values {values!r} for labels {self.labels!r}")
        pairs = [f'{k}="{escape_label_value(str(v))}"' for k, v in zip(self.labels, values)]
        if extra:
            pairs.append(extra)
        return "{" + ",".join(pairs) + "}" if pairs else ""

    def line_prefix(self, values: tuple) -> str:
        """``name{labels} `` for a gauge or counter sample, formatted once per label values."""
        prefix = self._prefixes.get(values)
        if prefix is None:
            prefix = self._prefixes[values] = f"{self.name}{self._labels_text(values)} "
        return prefix

    def histogram_prefixes(self, values: tuple) -> tuple[str, ...]:
        """Prefixes of every ``_bucket`` line (``+Inf`` last), then ``_count`` and ``_sum``."""
        prefixes = self._bucket_strings.get(values)
        if prefixes is None:
            bounds = (*self.buckets, math.inf)
            les = [f'le="{_format_bound(b)}"' for b in bounds]
            lines = [f"{self.name}_bucket{self._labels_text(values, le)} " for le in les]
            labels = self._labels_text(values)
            lines += [f"{self.name}_count{labels} ", f"{self.name}_sum{labels} "]
            prefixes = self._bucket_strings[values] = tuple(lines)
        return prefixes

    def bucket_bounds(self) -> tuple[str, ...]:
        return tuple(_format_bound(b) for b in (*self.buckets, math.inf))


def _reader(path: str) -> Callable[[Any], Any]:
    """``obj.a.b`` for ``"a.b"``, or None where a step is None (an exchange account has no
    ``limits``: its limit figures are absent)."""
    steps = path.split(".")

    def read(obj: Any) -> Any:
        for step in steps:
            if obj is None:
                return None
            obj = getattr(obj, step)
        return obj

    return read


# Label sets of the per-account figures (trading and risk families).
ACCOUNT = ("account",)
ACCOUNT_MARKET = ("account", "exchange", "symbol")


def account_gauge(name: str, help: str, labels: tuple[str, ...] = ACCOUNT, *, unit: str, requirement: str,
                  series: str = "A", reads: str | None = None, absent: str = "") -> MetricSpec:
    """A gauge with one series per account (or per ``labels``): the shape of most trading and risk
    figures. ``reads``: the ``AccountSnapshot`` field it is read from, for ``emit_account_figures``."""
    return MetricSpec(name, "gauge", help, labels, unit=unit, requirement=requirement, series=series,
                      reads=reads, absent=absent)


def emit_account_figures(specs: Iterable[MetricSpec], account: Any, sink: Any) -> None:
    """One series per spec for ``account`` (an ``AccountSnapshot``), from the field each ``reads``;
    a ``None`` figure (no Sharpe before enough returns...) is not exposed."""
    add = sink.add
    key = (account.name,)
    for spec in specs:
        value = spec.read(account)
        if value is not None:
            add(spec, key, value)


class HistogramState:
    """Bucket counts per label values, fed on the trader's loop, copied on the loop for a scrape.

    Observations only ever happen on the event-loop thread (bus handlers), and ``copy()`` is called
    there too, so no lock is needed and a scrape sees bucket counts, count and sum that agree.
    Non-finite observations are dropped and counted in ``dropped``.
    """

    __slots__ = ("spec", "_series", "dropped")

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        # label values -> [count in bucket 0, ..., count above the last bound, sum]
        self._series: dict[tuple, list[float]] = {}
        self.dropped = 0

    def observe(self, values: tuple, value: float) -> None:
        if not math.isfinite(value):
            self.dropped += 1
            return
        row = self._series.get(values)
        if row is None:
            row = self._series[values] = [0] * (len(self.spec.buckets) + 1) + [0.0]
        row[bisect_left(self.spec.buckets, value)] += 1  # le: value <= bound
        row[-1] += value

    def copy(self) -> dict[tuple, list[float]]:
        # list() first: prometheus_client's collect() may call this off the loop thread, while a
        # handler adds a series; taking the items is one C call, so it cannot see the dict change.
        return {values: row[:] for values, row in list(self._series.items())}


def known_then_seen(known: Iterable, seen: Iterable) -> list:
    """The known keys in their order, then any other key seen, so zero series come first."""
    keys = list(dict.fromkeys(known))
    present = set(keys)
    keys.extend(k for k in seen if k not in present)
    return keys
