"""The base of every exporter collector: specs, ``emit()`` into a sink, and ``collect()``.

A collector reads one ``TraderSnapshot`` (and, for event-fed histograms, a ``state`` copied on the
trader's loop by ``capture()``) and writes samples into a sink. The HTTP server calls
``capture()`` on the loop thread and ``emit()`` in its own thread with the fast sink;
prometheus_client's registry calls ``collect()``, which does both at once with the stock sink.

    >>> from trader.snapshot import TraderSnapshot
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> from exporters.families import MetricSpec
    >>> FEEDS = MetricSpec("trader_demo_feeds", "gauge", "Feeds configured.", unit="", requirement="-")
    >>> class Feeds(Collector):
    ...     specs = (FEEDS,)
    ...     def emit(self, snapshot, state, sink):
    ...         sink.add(FEEDS, (), len(snapshot.feeds))
    >>> registry = CollectorRegistry()
    >>> _ = Feeds(lambda: TraderSnapshot(0.0, (), (), (), {}), registry=registry)
    >>> b"trader_demo_feeds 0.0" in generate_latest(registry)
    True
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import CollectorRegistry

from exporters.exposition import FamilySink
from exporters.families import MetricSpec
from trader.snapshot import TraderSnapshot

__all__ = ["Collector", "SnapshotSource", "markets_of", "exchanges_of", "group_positions"]

SnapshotSource = Callable[[], TraderSnapshot]


class Collector:
    specs: tuple[MetricSpec, ...] = ()

    def __init__(self, source: SnapshotSource, registry: CollectorRegistry | None = None) -> None:
        self._source = source
        if registry is not None:
            registry.register(self)

    def capture(self) -> Any:
        """State that must be copied on the trader's loop thread; None for snapshot-only collectors."""
        return None

    def emit(self, snapshot: TraderSnapshot, state: Any, sink: Any) -> None:
        raise NotImplementedError

    def describe(self) -> Iterator[Metric]:
        # Names only, so registering does not take a snapshot.
        sink = FamilySink()
        for spec in self.specs:
            sink.declare(spec)
        return sink.families()

    def collect(self) -> Iterator[Metric]:
        sink = FamilySink()
        self.emit(self._source(), self.capture(), sink)
        return sink.families()


def markets_of(snapshot: TraderSnapshot) -> list[tuple[str, str]]:
    """Configured (exchange, symbol) pairs: the known label set of per-market counters."""
    return [(m.exchange, m.symbol) for m in snapshot.markets]


def exchanges_of(snapshot: TraderSnapshot) -> list[str]:
    """Configured exchanges (feeds first, then any market's), in a stable order."""
    return list(dict.fromkeys([f.exchange for f in snapshot.feeds] + [m.exchange for m in snapshot.markets]))


def group_positions(positions) -> dict[tuple[str, str], list]:
    """Positions per (exchange, symbol): two strategies of one account may hold the same market,
    and a series is per account, exchange and symbol, so their figures are combined."""
    grouped: dict[tuple[str, str], list] = {}
    for position in positions:
        grouped.setdefault((position.exchange, position.symbol), []).append(position)
    return grouped
