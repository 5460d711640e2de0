"""Wiring: one registry holding every family, and the two-step scrape the HTTP server uses.

``build_registry(trader)`` returns a ``TraderRegistry``, an ordinary prometheus_client
``CollectorRegistry`` (``generate_latest(registry)`` works), plus the fast path:

- ``capture()`` runs on the trader's event-loop thread: it takes the snapshot and copies the
  event-fed histograms (cheap, and consistent because events are handled on that thread too);
- ``render(frame, openmetrics)`` runs in the server's thread and formats the text.

    >>> from trader.bus import EventBus
    >>> from trader.snapshot import TraderSnapshot
    >>> registry = build_registry_from(lambda: TraderSnapshot(0.0, (), (), (), {}), EventBus())
    >>> text = registry.render(registry.capture(), openmetrics=True)
    >>> "trader_build_info{" in text, text.endswith("# EOF\\n")
    (True, True)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from prometheus_client import GCCollector, ProcessCollector, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_openmetrics
from prometheus_client.registry import CollectorRegistry

from exporters.accounts import AccountWatchCollector
from exporters.collector import Collector, SnapshotSource
from exporters.execution import ExecutionEvents, OrdersCollector
from exporters.exposition import FastSink
from exporters.market_data import MarketDataCollector
from exporters.risk import ConditionEvents, RiskCollector
from exporters.system import DROPPED_SAMPLES, EventLoopLag, HostCollector
from exporters.trading import TradingCollector
from trader.bus import EventBus
from trader.snapshot import TraderSnapshot

__all__ = ["TraderRegistry", "Frame", "build_registry", "build_registry_from"]


@dataclass(frozen=True, slots=True)
class Frame:
    """What one scrape shows: a snapshot and the histogram copies taken with it."""

    snapshot: TraderSnapshot
    states: dict[Collector, Any]


class TraderRegistry(CollectorRegistry):
    def __init__(self, source: SnapshotSource) -> None:
        super().__init__(auto_describe=True)
        self.source = source
        self.collectors: list[Collector] = []
        self.event_loop_lag: EventLoopLag | None = None
        # prometheus_client's collectors (process, GC) render through the stock writer: ~20 series.
        self._stock = CollectorRegistry(auto_describe=True)
        self._dropped = 0  # renders' drops, committed after each render
        self._lock = threading.Lock()

    def register(self, collector) -> None:
        super().register(collector)
        if isinstance(collector, Collector):
            self.collectors.append(collector)
        else:
            self._stock.register(collector)

    def capture(self) -> Frame:
        """Run on the trader's loop thread."""
        snapshot = self.source()
        return Frame(snapshot, {c: c.capture() for c in self.collectors})

    def dropped_total(self, pending: int = 0) -> int:
        histogram_drops = sum(getattr(c, "dropped", 0) for c in self.collectors)
        return self._dropped + pending + histogram_drops

    def render(self, frame: Frame, openmetrics: bool = False, yield_gil: bool = False) -> str:
        """Format ``frame`` in the text format or OpenMetrics; safe to run off the loop thread.

        ``yield_gil``: pause briefly now and then so the loop thread gets the GIL (server threads).
        """
        sink = FastSink(yield_gil)
        for collector in self.collectors:
            collector.emit(frame.snapshot, frame.states.get(collector), sink)
        sink.add(DROPPED_SAMPLES, (), self.dropped_total(sink.dropped))
        with self._lock:
            self._dropped += sink.dropped
        ours = sink.render(openmetrics)
        if openmetrics:
            stock = generate_latest_openmetrics(self._stock).decode()
            return ours + stock  # the stock part ends with the one "# EOF"
        return ours + generate_latest(self._stock).decode()


class _DroppedSamples(Collector):
    """The drop counter for the stock ``collect()`` path (``render`` writes it itself)."""

    specs = (DROPPED_SAMPLES,)

    def __init__(self, registry: TraderRegistry) -> None:
        self._registry = registry
        super().__init__(registry.source, None)

    def emit(self, snapshot, state, sink) -> None:
        sink.add(DROPPED_SAMPLES, (), self._registry.dropped_total())


def build_registry_from(source: SnapshotSource, bus: EventBus, *, data_dir: str = ".",
                        process_metrics: bool = True) -> TraderRegistry:
    """Every family on ``source`` (a snapshot function) and ``bus``; for tests and benchmarks."""
    registry = TraderRegistry(source)
    TradingCollector(source, registry=registry)
    RiskCollector(source, registry=registry)
    ConditionEvents(bus, source, registry=registry)
    OrdersCollector(source, registry=registry)
    ExecutionEvents(bus, source, registry=registry)
    MarketDataCollector(source, registry=registry)
    AccountWatchCollector(source, registry=registry)
    HostCollector(source, data_dir=data_dir, registry=registry)
    registry.event_loop_lag = EventLoopLag(source, registry=registry)
    if process_metrics:
        ProcessCollector(registry=registry)
        GCCollector(registry=registry)
    # Only for generate_latest(registry); render() writes this counter after the others.
    CollectorRegistry.register(registry, _DroppedSamples(registry))
    return registry


def build_registry(trader, *, data_dir: str = ".", process_metrics: bool = True) -> TraderRegistry:
    """The registry for a running ``trader.engine.Trader`` (uses ``trader.snapshot`` and ``trader.bus``)."""
    return build_registry_from(trader.snapshot, trader.bus, data_dir=data_dir, process_metrics=process_metrics)
