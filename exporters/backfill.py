"""The trader's metrics over a run on simulated time, as OpenMetrics for a TSDB backfill.

    python -m trader --replay REC.jsonl.gz --openmetrics-out metrics.om --sample-interval 5s
    promtool tsdb create-blocks-from openmetrics metrics.om data/

Every ``interval`` of simulated time the writer takes what a scrape would show (the same
registry and render as ``/metrics``: no metric is defined twice) and stamps each sample with
that instant. promtool wants one exposition for the whole range: each family once (its samples
of every instant together), each series' points in time order, timestamps in seconds, one
``# EOF`` at the end. So the points are kept per family and series, and written at the end
(a few hundred kilobytes per simulated hour for a handful of symbols).

    writer = start_backfill(trader, Path("metrics.om"), interval=5.0)
    task = asyncio.create_task(writer.run())    # on the simulated loop
    ...
    writer.write()                               # atomically, when the run is over
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from exporters.registry import TraderRegistry, build_registry

__all__ = ["OpenMetricsBackfill", "start_backfill"]

_HEADER = ("# HELP ", "# TYPE ", "# UNIT ")
# A histogram's point is its _bucket lines, _count and _sum at one instant: same labels but `le`.
_LE_LABEL = re.compile(r'(,?)le="[^"]*"(,?)')
_SUFFIX = re.compile(r"_(bucket|count|sum|created)(?=\{|$)")


@dataclass
class _Family:
    header: list[str]
    histogram: bool = False
    # series key -> [(timestamp, [sample lines without timestamp])], in time order
    points: dict[str, list[tuple[float, list[str]]]] = field(default_factory=dict)


def _point_key(series: str, histogram: bool) -> str:
    if not histogram:
        return series
    without_le = _LE_LABEL.sub(lambda m: "," if m.group(1) and m.group(2) else "", series)
    return _SUFFIX.sub("", without_le.replace("{}", ""), count=1)


class OpenMetricsBackfill:
    def __init__(self, registry: TraderRegistry, path: Path, interval: float, clock: Callable[[], float]) -> None:
        if not interval > 0:
            raise ValueError(f"sample interval {interval!r}: expected seconds > 0")
        self.registry = registry
        self.path = Path(path)
        self.interval = float(interval)
        self.clock = clock
        self.samples = 0  # instants taken
        self._families: dict[str, _Family] = {}

    def sample(self, ts: float) -> None:
        """Take what a scrape at ``ts`` would show."""
        text = self.registry.render(self.registry.capture(), openmetrics=True)
        family: _Family | None = None
        new_here: set[str] = set()  # families first seen in this render keep its header lines
        for line in text.splitlines():
            if not line or line == "# EOF":
                continue
            if line.startswith(_HEADER):
                name = line.split(" ", 3)[2]
                family = self._families.get(name)
                if family is None:
                    family = self._families[name] = _Family([])
                    new_here.add(name)
                if name in new_here:
                    family.header.append(line)
                    family.histogram = family.histogram or line == f"# TYPE {name} histogram"
                continue
            if family is None:
                continue
            series, _, _value = line.rpartition(" ")
            key = _point_key(series, family.histogram)
            points = family.points.setdefault(key, [])
            if points and points[-1][0] == ts:
                points[-1][1].append(line)
            else:
                points.append((ts, [line]))
        self.samples += 1

    async def run(self) -> None:
        """Sample at every multiple of ``interval`` of the clock after now, until cancelled (the
        first one after the start, so the feeds have connected as they would before a scrape)."""
        due = (math.floor(self.clock() / self.interval) + 1) * self.interval
        while True:
            wait = due - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self.sample(due)
            due += self.interval

    def text(self) -> str:
        out: list[str] = []
        for family in self._families.values():
            if not family.points:
                continue
            out.extend(family.header)
            for points in family.points.values():
                for ts, lines in points:
                    stamp = f" {ts:.3f}"
                    out.extend(line + stamp for line in lines)
        out.append("# EOF")
        return "\n".join(out) + "\n"

    def write(self) -> Path:
        """Write the file atomically (a reader never sees half of it); returns its path."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.text())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return self.path


def start_backfill(trader, path: Path, interval: float) -> OpenMetricsBackfill:
    """The writer for a running ``trader.engine.Trader`` on simulated time (its ``clock``).

    No process or GC metrics: they describe this fast run, not the trading it simulates.
    """
    return OpenMetricsBackfill(build_registry(trader, process_metrics=False), path, interval, trader.clock)
