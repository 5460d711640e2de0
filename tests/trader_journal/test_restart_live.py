"""The issue's live test: the crash drill scraped by a real Prometheus with the committed config and
rules; ``kill -9`` of the trader once TraderDrawdownHigh and TraderTradingHalted fire; a restart
on the same state dir and port. The high-water mark, the drawdown, the halt and the open
position come back as they were, and both alerts fire without a break through the restart (the
alerts API polled all along, and the ALERTS series afterwards). Takes about 1.5 minutes."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timezone

import pytest

from tests.exporters.scrape_parsing import samples, series_of, value
from tests.support.ports import free_port
from tests.support.processes import wait_until
from tests.support.prometheus import stack_config

pytestmark = pytest.mark.slow

WATCHED = ("TraderDrawdownHigh", "TraderTradingHalted")
# The crash comes after 5 s, falls over 5 s, and lasts well past the test (the drill's own exit
# would close the position).
CRASH = """
drill: {crash_over_seconds: 5, duration_seconds: 900}
accounts:
  - name: crash
"""


class _AlertWatch(threading.Thread):
    """Polls Prometheus' alerts API; records every moment a watched alert was not firing."""

    def __init__(self, prometheus) -> None:
        super().__init__(daemon=True)
        self.prometheus = prometheus
        self.gaps: list[str] = []
        self.active_at: dict[str, set[str]] = {name: set() for name in WATCHED}
        self.polls = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                alerts = self.prometheus.alerts()
            except Exception as error:  # noqa: BLE001 - Prometheus itself must answer throughout
                self.gaps.append(f"{time.time():.1f}: alerts API failed: {error}")
            else:
                firing = {a["labels"]["alertname"]: a for a in alerts
                          if a["state"] == "firing" and a["labels"].get("account") == "crash"}
                for name in WATCHED:
                    if name not in firing:
                        self.gaps.append(f"{time.time():.1f}: {name} not firing")
                    else:
                        self.active_at[name].add(firing[name]["activeAt"])
                self.polls += 1
            self._done.wait(0.5)

    def stop(self) -> None:
        self._done.set()
        self.join(10)


def _figures(trader) -> dict[str, float]:
    parsed = samples(trader.scrape())
    (quantity,) = series_of(parsed, "trader_position_quantity").values()
    return {name: value(parsed, name, account="crash") for name in
            ("trader_high_water_mark_usdt", "trader_drawdown_ratio", "trader_trading_halted", "trader_balance_usdt")} \
        | {"trader_position_quantity": quantity}


def test_kill_9_mid_crash_drill_and_restart_keeps_figures_and_alerts(start_trader, start_prometheus, tmp_path):
    config = tmp_path / "crash.yml"
    config.write_text(CRASH)
    state = str(tmp_path / "state")
    port = free_port()
    args = ("--feed", "sim", "--seed", "7", "--config", str(config), "--state-dir", state)
    trader = start_trader(*args, "--drill", "crash", "--drill-delay", "5", port=port)
    prometheus = start_prometheus(*stack_config([f"127.0.0.1:{port}"]))

    def both_firing() -> bool:
        firing = {a["labels"]["alertname"] for a in prometheus.alerts()
                  if a["state"] == "firing" and a["labels"].get("account") == "crash"}
        return set(WATCHED) <= firing

    wait_until(both_firing, 120, f"{' and '.join(WATCHED)} to fire in the crash drill")
    before = _figures(trader)
    assert before["trader_trading_halted"] == 1 and before["trader_drawdown_ratio"] > 0.10
    watch = _AlertWatch(prometheus)
    watch.start()

    killed_at = time.monotonic()
    os.kill(trader.process.pid, signal.SIGKILL)
    wait_until(lambda: trader.process.poll() is not None, 10, "the trader to die")
    # Down long enough for Prometheus to see it: a failed scrape marks every series stale, and an
    # evaluation after it sees no sample (a plain selector would resolve both alerts here).
    failed = wait_until(lambda: _failed_scrape(prometheus), 30, "Prometheus to fail a scrape of the dead trader")
    wait_until(lambda: _evaluated_after(prometheus, failed), 30, "an evaluation of the risk alerts after it")
    # The same target, as compose restarts it; no drill this time: the operator's trader.
    again = start_trader(*args, port=port)
    restarted_at = time.monotonic()
    after = _figures(again)
    assert after["trader_high_water_mark_usdt"] == before["trader_high_water_mark_usdt"]
    assert after["trader_trading_halted"] == 1
    assert after["trader_position_quantity"] == before["trader_position_quantity"]
    assert after["trader_balance_usdt"] == pytest.approx(before["trader_balance_usdt"], abs=0.01)
    # The sim continues from the journal's last marks: the drawdown moves only with the new ticks.
    assert after["trader_drawdown_ratio"] == pytest.approx(before["trader_drawdown_ratio"], abs=0.01)

    # Prometheus scrapes the new process; the alerts stay firing through three more evaluations.
    def scraped_again() -> bool:
        (target,) = prometheus.targets()
        return target["health"] == "up" and target["lastScrape"] > _rfc3339_after(restarted_at)

    wait_until(scraped_again, 30, "Prometheus to scrape the restarted trader")
    scraped_at = time.monotonic()
    wait_until(lambda: time.monotonic() - scraped_at > 15, 20, "three evaluations after the restart")
    watch.stop()
    gap = scraped_at - killed_at
    print(f"trader down (kill -9 to its first scrape again) for {gap:.1f} s; {watch.polls} polls of the alerts API")
    assert watch.polls > 20 and not watch.gaps, "alerts stopped firing across the restart:\n" + "\n".join(watch.gaps)
    assert all(len(times) == 1 for times in watch.active_at.values()), f"an alert started over: {watch.active_at}"
    # ...and the ALERTS series has a firing sample at every evaluation of the window.
    end = time.time()
    for name in WATCHED:
        data = prometheus._get("/api/v1/query_range", query=f'ALERTS{{alertname="{name}",alertstate="firing",'
                               f'account="crash"}}', start=end - gap - 20, end=end, step="5s")
        (series,) = data["result"]
        stamps = [float(t) for t, _ in series["values"]]
        assert len(stamps) >= (gap + 20) / 5 - 1 and max(b - a for a, b in zip(stamps, stamps[1:])) <= 5.0, stamps


def _time(text: str) -> datetime:
    """An RFC 3339 time as Prometheus writes it (nanoseconds, Z)."""
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction or '0')[:6]:0<6}+00:00")


def _failed_scrape(prometheus) -> datetime | None:
    (target,) = prometheus.targets()
    return _time(target["lastScrape"]) if target["health"] == "down" else None


def _evaluated_after(prometheus, moment: datetime) -> bool:
    (group,) = [g for g in prometheus.rules() if g["name"] == "risk-alerts"]
    return _time(group["lastEvaluation"]) > moment


def _rfc3339_after(monotonic_at: float) -> str:
    """The wall-clock time of a monotonic instant, as Prometheus writes lastScrape (RFC 3339, UTC)."""
    wall = time.time() - (time.monotonic() - monotonic_at)
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
