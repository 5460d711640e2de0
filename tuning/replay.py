"""``--replay``: a recording or a drill, turned into a temporary TSDB served by a real Prometheus.

1. The trader runs over the source on simulated time at max speed and writes its metrics every
   5 s of that time as OpenMetrics (``python -m trader ... --openmetrics-out FILE``): a recording
   (``--replay FILE``, the trader's clock is the recording's receive times) or a drill
   (``drill:crash``, ``drill:feed-outage``, ``drill:api-errors``, ``drill:latency``: the sim feed,
   60 s of healthy baseline, the drill, then a quiet tail).
2. ``promtool tsdb create-blocks-from openmetrics`` makes TSDB blocks of it.
3. A temporary ``prometheus`` serves those blocks, with the project's rule files loaded.
4. Recording rules: Prometheus never evaluates rules over the past, so the recorded series an
   alert reads (``account:trader_daily_pnl:ratio``...) are backfilled with
   ``promtool tsdb create-blocks-from rules`` over the range, through that Prometheus, level by
   level (a rule reading another recorded series waits for the level below: promtool cannot see
   what it is still writing), restarting Prometheus on the new blocks in between. We chose this
   over expanding recorded series inline in the query: the alert's query is then the very query
   the live Prometheus runs, against series recorded by Prometheus' own evaluation, at each
   group's own interval and evaluation offset, so a replay and live history are evaluated by
   one code path.
5. The query lookback (``--query.lookback-delta``) is the sample interval (or the longest
   interval of the recorded series read): backfilled data has no staleness markers, so without
   it a position's series would linger 5 minutes after the position closed, where the live
   Prometheus marks it stale at the next scrape.

    with ReplayTSDB("drill:crash", plan_rules, alert, global_interval=5.0) as tsdb:
        api = PrometheusAPI(tsdb.url); tsdb.start, tsdb.end
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import requests
import yaml

from .binaries import find_binary
from .errors import TuningError
from .rules import AlertRule, RecordingRule, RuleSet
from .timeparse import parse_duration

__all__ = ["ReplayTSDB", "DRILLS", "SAMPLE_INTERVAL", "drill_timing"]

DRILLS = ("crash", "feed-outage", "api-errors", "latency")
SAMPLE_INTERVAL = 5.0  # the trader job's scrape interval (prometheus/prometheus.yml)
DRILL_DELAY = 60.0     # healthy baseline before a drill (the trader's default)
DRILL_TAIL = 180.0     # after the drill: long enough to see alerts resolve
_log = logging.getLogger("tuning.replay")


def drill_timing(name: str) -> float:
    """Simulated seconds a drill run lasts: baseline, the drill (the crash's fall first), a tail."""
    condition = 180.0 + (45.0 if name == "crash" else 0.0)  # trader.config.DrillConfig defaults
    return DRILL_DELAY + condition + DRILL_TAIL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(argv: Sequence[str], what: str, timeout: float = 600.0) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TuningError(f"{what}: did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise TuningError(f"{what}: failed (exit {done.returncode}): {(lines or ['no output'])[-1][:300]}")
    return done.stdout


class _Prometheus:
    """A temporary Prometheus on ``data`` (no scrape jobs), stopped by ``stop()``."""

    def __init__(self, workdir: Path, data: Path, rule_files: Sequence[Path], interval: float,
                 lookback: float) -> None:
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"evaluation_interval": f"{interval:g}s"},
            "rule_files": [str(p.resolve()) for p in rule_files],
        }))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(workdir / f"prometheus-{self.port}.log", "wb")
        self._process = subprocess.Popen([
            find_binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{self.port}", f"--query.lookback-delta={lookback:g}s",
            "--storage.tsdb.retention.time=36500d", "--log.level=warn",
        ], stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TuningError(f"the temporary Prometheus exited at start (see {self._log.name})")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise TuningError("the temporary Prometheus was not ready within 60 s")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


def _sample_range(path: Path) -> tuple[float, float]:
    first, last = float("inf"), float("-inf")
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            ts = float(line.rsplit(" ", 1)[1])
            first, last = min(first, ts), max(last, ts)
    if first > last:
        raise TuningError(f"the replay wrote no samples to {path}: expected the trader's metrics")
    return first, last


class ReplayTSDB:
    """``source``: a recording's path, ``drill:NAME``, or ``sim:DURATION`` (the default sim feed, no
    drill, for that long: ``sim:30m``). ``openmetrics``: a file already written (by the trader or a
    test driving the core on a clock of its own) to serve instead of running the trader."""

    def __init__(self, source: str, rules: RuleSet, alert: Sequence[AlertRule], *, global_interval: float,
                 openmetrics: Path | None = None) -> None:
        self.source = source
        self.openmetrics = openmetrics
        self.rules = rules
        self.alert = list(alert)
        self.global_interval = global_interval
        self._prometheus: _Prometheus | None = None
        self.url = ""
        self.start = self.end = 0.0
        self.levels = rules.recorded_dependencies(self.alert)
        self.lookback = max([SAMPLE_INTERVAL] + [r.interval or global_interval for level in self.levels for r in level])

    def _trader_argv(self, out: Path) -> list[str]:
        base = [sys.executable, "-m", "trader", "--openmetrics-out", str(out),
                "--sample-interval", f"{SAMPLE_INTERVAL:g}s", "--log-level", "WARNING"]
        if self.source.startswith("sim:") and self.source[4:5].isdigit():
            try:
                seconds = parse_duration(self.source[4:], "--replay sim:DURATION")
            except TuningError:
                raise TuningError(f"--replay = {self.source!r}: expected sim:DURATION such as sim:30m, "
                                  "or drill:NAME") from None
            return base + ["--feed", "sim", "--run-for", f"{seconds:g}s"]
        if self.source.startswith(("drill:", "sim:")):
            name = self.source.split(":", 1)[1]
            if name not in DRILLS:
                raise TuningError(f"--replay = {self.source!r}: unknown drill {name!r}, expected one of "
                                  + ", ".join(f"drill:{d}" for d in DRILLS))
            return base + ["--feed", "sim", "--drill", name, "--drill-delay", f"{DRILL_DELAY:g}",
                           "--run-for", f"{drill_timing(name):g}s"]
        path = Path(self.source)
        if not path.is_file():
            raise TuningError(f"--replay = {self.source!r}: no such file (expected a recording, e.g. "
                              "../shared/data/binance-usdm-btcusdt-20240808.jsonl.gz, or drill:crash)")
        return base + ["--replay", str(path)]

    def __enter__(self) -> "ReplayTSDB":
        self._dir = Path(tempfile.mkdtemp(prefix="tuning-replay-"))
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _build(self) -> None:
        work = self._dir
        began = time.monotonic()
        if self.openmetrics is not None:
            metrics = Path(self.openmetrics)
        else:
            metrics = work / "metrics.om"
            _run(self._trader_argv(metrics), f"the trader's replay of {self.source}")
        self.start, self.end = _sample_range(metrics)
        data = work / "data"
        promtool = find_binary("promtool")
        _run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(metrics), str(data)],
             "promtool tsdb create-blocks-from openmetrics")
        rule_files = sorted({r.path for r in self.rules.alerts} | {r.path for r in self.rules.records})
        self._prometheus = _Prometheus(work, data, rule_files, self.global_interval, self.lookback)
        for number, level in enumerate(self.levels):
            level_file = work / f"recording-level-{number}.yml"
            level_file.write_text(yaml.safe_dump({"groups": _groups(level)}, sort_keys=False))
            out = work / f"rules-level-{number}"
            _run([promtool, "tsdb", "create-blocks-from", "rules", f"--start={self.start:.3f}",
                  f"--end={self.end:.3f}", f"--url={self._prometheus.url}",
                  f"--eval-interval={self.global_interval:g}s", f"--output-dir={out}", "--quiet", str(level_file)],
                 "promtool tsdb create-blocks-from rules")
            self._prometheus.stop()
            for block in out.iterdir() if out.is_dir() else ():
                shutil.move(str(block), str(data / block.name))
            self._prometheus = _Prometheus(work, data, rule_files, self.global_interval, self.lookback)
        self.url = self._prometheus.url
        _log.info("replay TSDB ready", extra={"source": self.source, "url": self.url,
                                              "seconds": round(time.monotonic() - began, 2)})

    def __exit__(self, *exc) -> None:
        if self._prometheus is not None:
            self._prometheus.stop()
            self._prometheus = None
        shutil.rmtree(self._dir, ignore_errors=True)


def _groups(level: Sequence[RecordingRule]) -> list[dict]:
    groups: dict[tuple[str, float | None], list[dict]] = {}
    for rule in level:
        entry: dict = {"record": rule.name, "expr": rule.expr}
        if rule.labels:
            entry["labels"] = dict(rule.labels)
        groups.setdefault((rule.group, rule.interval), []).append(entry)
    out = []
    for (name, interval), rules in groups.items():
        group: dict = {"name": name}
        if interval:
            group["interval"] = f"{interval:g}s"
        group["rules"] = rules
        out.append(group)
    return out
