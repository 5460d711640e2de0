"""System family: host CPU, memory and disk (psutil), event-loop lag, build info, drills.

Process figures (CPU seconds, resident memory, open files, start time) and garbage collection come
from prometheus_client's own ``ProcessCollector`` and ``GCCollector``, which ``build_registry``
adds; this module adds what they do not cover.

Event-loop lag is measured by a task on the trader's loop that sleeps ``LAG_PROBE_INTERVAL`` and
records how late it woke: the time a market message would have waited behind other work.

Usage: ``HostCollector(trader.snapshot, data_dir=".", registry=registry)``;
``EventLoopLag(trader.snapshot, registry=registry).start(loop)``.
"""

from __future__ import annotations

import asyncio
import platform
import threading

import psutil
from prometheus_client.registry import CollectorRegistry

import trader
from exporters.collector import Collector, SnapshotSource
from exporters.families import HistogramState, MetricSpec
from trader.snapshot import TraderSnapshot

__all__ = ["HostCollector", "EventLoopLag", "LAG_PROBE_INTERVAL", "LAG_BUCKETS", "DROPPED_SAMPLES"]

LAG_PROBE_INTERVAL = 0.25  # seconds: four wake-ups a second cost nothing and catch stalls >= 250 ms surely
BUCKETS_WHY = """\
Event-loop lag, seconds, 1 ms .. 2.5 s: a healthy loop wakes within 1-5 ms; 100 ms is where a book
update is visibly late; seconds mean a blocked loop (a synchronous call on the market-data path)."""
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HOST_CPU = MetricSpec("trader_host_cpu_utilisation_ratio", "gauge",
                      "Host CPU busy share since the previous scrape, 0..1.", unit="ratio",
                      requirement="CPU (000 > 75 % warning, > 90 % critical)", series="1")
HOST_MEMORY = MetricSpec("trader_host_memory_utilisation_ratio", "gauge",
                         "Host memory in use (total - available) / total, 0..1.", unit="ratio",
                         requirement="memory (000 > 75 % warning, > 90 % critical)", series="1")
HOST_DISK = MetricSpec("trader_host_disk_utilisation_ratio", "gauge",
                       "Used share of the filesystem holding the data directory, 0..1.", unit="ratio",
                       requirement="disk (000 > 80 % warning, > 90 % critical)", series="1")
EVENT_LOOP_LAG = MetricSpec("trader_event_loop_lag_seconds", "histogram",
                            "How late the trader's event loop ran a timer.", unit="seconds",
                            buckets=LAG_BUCKETS, requirement="event-loop lag of the trader process", series="13")
BUILD_INFO = MetricSpec("trader_build_info", "gauge", "Always 1; the labels carry the build.",
                        ("version", "python_version"), unit="", requirement="version (one series carries it)", series="1")
DRILL_ACTIVE = MetricSpec("trader_drill_active", "gauge", "1 while the drill runs, else 0.", ("drill",),
                          unit="", requirement="drills (which alert a drill should fire)", series="D")
DROPPED_SAMPLES = MetricSpec("trader_exporter_dropped_samples_total", "counter",
                             "Samples not exposed because the value was NaN, infinite, or a negative counter.",
                             unit="", requirement="honest values: drops of non-finite figures are counted", series="1")


class HostCollector(Collector):
    specs = (HOST_CPU, HOST_MEMORY, HOST_DISK, BUILD_INFO, DRILL_ACTIVE)

    def __init__(self, source: SnapshotSource, data_dir: str = ".",
                 registry: CollectorRegistry | None = None) -> None:
        self._data_dir = data_dir
        self._build = (trader.__version__, platform.python_version())
        # psutil.cpu_percent(interval=None) keeps its previous reading per thread, and every
        # request runs in a new server thread: keep our own, shared, previous reading instead.
        self._cpu_lock = threading.Lock()
        self._cpu_previous = self._cpu_times()
        super().__init__(source, registry)

    @staticmethod
    def _cpu_times() -> tuple[float, float]:
        """(busy, total) CPU seconds of the host since boot, as psutil.cpu_percent counts them."""
        times = psutil.cpu_times()
        total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)  # in user already
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total

    def _cpu_ratio(self) -> float | None:
        busy, total = self._cpu_times()
        with self._cpu_lock:
            previous_busy, previous_total = self._cpu_previous
            self._cpu_previous = (busy, total)
        if total <= previous_total:
            return None  # two scrapes within one clock tick: no measurement, no figure
        return min(1.0, max(0.0, (busy - previous_busy) / (total - previous_total)))

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        cpu = self._cpu_ratio()
        if cpu is not None:
            add(HOST_CPU, (), cpu)
        add(HOST_MEMORY, (), psutil.virtual_memory().percent / 100.0)
        try:
            add(HOST_DISK, (), psutil.disk_usage(self._data_dir).percent / 100.0)
        except OSError:
            pass  # the directory vanished: no figure rather than a wrong one
        add(BUILD_INFO, self._build, 1)
        for drill, active in snapshot.drills.items():
            add(DRILL_ACTIVE, (drill,), 1 if active else 0)


class EventLoopLag(Collector):
    specs = (EVENT_LOOP_LAG,)

    def __init__(self, source: SnapshotSource, registry: CollectorRegistry | None = None) -> None:
        self.lag = HistogramState(EVENT_LOOP_LAG)
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__(source, registry)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start probing ``loop``; callable from any thread."""
        self._loop = loop

        def create() -> None:
            self._task = loop.create_task(self._probe(), name="exporters.event_loop_lag")

        try:
            if asyncio.get_running_loop() is loop:
                create()
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(create)

    def stop(self) -> None:
        task, loop = self._task, self._loop
        if task is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task.cancel()
        else:
            loop.call_soon_threadsafe(task.cancel)

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_PROBE_INTERVAL)
            self.lag.observe((), max(0.0, loop.time() - started - LAG_PROBE_INTERVAL))

    @property
    def dropped(self) -> int:
        return self.lag.dropped

    def capture(self) -> dict | None:
        return self.lag.copy() if self._task is not None else None

    def emit(self, snapshot: TraderSnapshot, state: dict | None, sink) -> None:
        if state is None:
            return  # not probing (no loop): no lag figure rather than a zero one
        row = state.get(())
        sink.histogram(EVENT_LOOP_LAG, (), row if row is not None else [0] * (len(LAG_BUCKETS) + 1) + [0.0])
