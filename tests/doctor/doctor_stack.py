"""The whole stack the doctor checks, on 127.0.0.1, as compose wires it, with short intervals.

Real: the sim trader, the committed Prometheus rules in the real ``prometheus``, the rendered
Alertmanager config in the real ``alertmanager``, the real SMS relay, Grafana's admin password
written by the real ``stack_init.py``. Stand-ins: the channels (``tests/alertmanager/am_fakes``)
and Grafana, Loki, Alloy (``tests/doctor/standins``).

    with start_doctor_stack(tmp_path) as stack:
        result = run_doctor(stack)
        assert result.returncode == 0
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests
import yaml

from tests.alertmanager.am_fakes import FakeReceivers, start_receivers
from tests.alertmanager.am_stack import FAST_TIMING, SmsRelayProcess, render_config
from tests.doctor.standins import AlloyStandIn, GrafanaStandIn, LokiStandIn
from tests.support.alertmanager import AlertmanagerServer
from tests.support.processes import wait_until
from tests.support.prometheus import PrometheusServer, stack_config
from tests.support.trader import REPO_ROOT, TraderProcess

__all__ = ["DoctorStack", "start_doctor_stack", "start_prometheus_for", "run_doctor", "doctor_flags",
           "RELAY_TOKEN", "prometheus_config"]

RELAY_TOKEN = "relay-token-for-the-doctor-tests"
# A scrape and a rule evaluation every 2 s: targets are up within a few seconds of the start,
# instead of the committed 5-15 s, and a trader busy on a loaded CI machine still answers in time.
FAST_INTERVAL = "2s"
# Prometheus 3 sends a new alert to Alertmanager only once its resend delay (default 1m) has
# passed since the rule manager started; 2 s brings the Watchdog to Alertmanager in ~6 s.
FAST_RESEND = ("--rules.alert.resend-delay=2s",)


@dataclass
class DoctorStack:
    workdir: Path
    trader: TraderProcess
    fakes: FakeReceivers
    relay: SmsRelayProcess
    alertmanager: AlertmanagerServer
    prometheus: PrometheusServer
    grafana: GrafanaStandIn
    loki: LokiStandIn
    alloy: AlloyStandIn
    password_file: Path


def prometheus_config(trader: str, alertmanager: str, extra_jobs: dict[str, str],
                      extra_rules: dict[str, str] | None = None) -> tuple[str, dict]:
    """The committed config and rules pointed at this stack, every interval 1 s; ``extra_jobs``
    is job name -> target (the compose jobs the test runs), ``extra_rules`` more rule files."""
    text, files = stack_config([trader], alertmanager)
    config = yaml.safe_load(text)
    config["global"].update(scrape_interval=FAST_INTERVAL, scrape_timeout=FAST_INTERVAL,
                            evaluation_interval=FAST_INTERVAL)
    for job in config["scrape_configs"]:
        job.update(scrape_interval=FAST_INTERVAL, scrape_timeout=FAST_INTERVAL)
    config["scrape_configs"] += [{"job_name": name, "static_configs": [{"targets": [target]}]}
                                 for name, target in extra_jobs.items()]
    return yaml.safe_dump(config, sort_keys=False), {**files, **(extra_rules or {})}


def _hostport(url: str) -> str:
    return url.split("://", 1)[1]


def _committed_jobs() -> set[str]:
    config = yaml.safe_load((REPO_ROOT / "prometheus" / "prometheus.yml").read_text())
    return {job["job_name"] for job in config["scrape_configs"]}


def start_prometheus_for(stack: DoctorStack, workdir: Path, *, extra_jobs: dict[str, str] | None = None,
                         extra_rules: dict[str, str] | None = None) -> PrometheusServer:
    jobs = {"alertmanager": _hostport(stack.alertmanager.url), "loki": _hostport(stack.loki.url),
            "alloy": _hostport(stack.alloy.url), "sms-relay": _hostport(stack.relay.url),
            "grafana": _hostport(stack.grafana.url), **(extra_jobs or {})}
    # Every job of the committed config has a target here, so "every target up" is checked against
    # what compose scrapes; "prometheus" scrapes itself (its port is chosen when it starts).
    missing = _committed_jobs() - set(jobs) - {"trader", "prometheus"}
    assert not missing, f"prometheus/prometheus.yml scrapes {sorted(missing)}: give the doctor stack a stand-in"
    text, files = prometheus_config(_hostport(stack.trader.base_url), _hostport(stack.alertmanager.url), jobs,
                                    extra_rules)
    return PrometheusServer(workdir, text, files, flags=FAST_RESEND)


def _write_grafana_password(path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "deploy" / "container" / "stack_init.py"),
                             "--grafana-password-file", str(path)], capture_output=True, text=True, timeout=30,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr


def _settled(stack: DoctorStack) -> bool:
    # Rule groups with their own 30 s interval (slo.yml) may not have run yet: "unknown" is no error.
    targets = stack.prometheus.targets()
    watchdog = requests.get(f"{stack.alertmanager.url}/api/v2/alerts", params={"filter": 'alertname="Watchdog"'},
                            timeout=5).json()
    expected = len(_committed_jobs() - {"prometheus"})
    return len(targets) == expected and all(t["health"] == "up" for t in targets) and bool(watchdog)


@contextmanager
def start_doctor_stack(workdir: Path) -> Iterator[DoctorStack]:
    with ExitStack() as cleanup:
        trader = TraderProcess(workdir / "trader", "--feed", "sim", "--exchanges", "binance,okx")
        cleanup.callback(trader.stop)
        fakes = cleanup.enter_context(start_receivers())
        relay = SmsRelayProcess(workdir, fakes.relay_env(RELAY_TOKEN))
        cleanup.callback(relay.stop)
        rendered = render_config(workdir / "am", fakes.render_env(f"{relay.url}/alert", RELAY_TOKEN), *FAST_TIMING)
        alertmanager = AlertmanagerServer(workdir / "am-run", rendered.config_text, rendered.files)
        cleanup.callback(alertmanager.stop)
        loki = cleanup.enter_context(LokiStandIn(trader.log_lines))
        alloy = cleanup.enter_context(AlloyStandIn())
        password_file = workdir / "secrets" / "admin-password"
        password_file.parent.mkdir()
        _write_grafana_password(password_file)
        grafana = cleanup.enter_context(GrafanaStandIn(password_file, {"loki": loki.url,
                                                                       "alertmanager": alertmanager.url}))
        stack = DoctorStack(workdir, trader, fakes, relay, alertmanager, None, grafana, loki, alloy, password_file)
        stack.prometheus = start_prometheus_for(stack, workdir / "prometheus")
        cleanup.callback(stack.prometheus.stop)
        grafana.point_at({"prometheus": stack.prometheus.url, "loki": loki.url, "alertmanager": alertmanager.url})
        wait_until(lambda: _settled(stack), 60, "every target up and the Watchdog in Alertmanager")
        yield stack


def doctor_flags(stack: DoctorStack) -> list[str]:
    return [f"--prometheus={stack.prometheus.url}", f"--alertmanager={stack.alertmanager.url}",
            f"--trader={stack.trader.base_url}", f"--grafana={stack.grafana.url}",
            f"--grafana-password-file={stack.password_file}", f"--loki={stack.loki.url}",
            f"--alloy={stack.alloy.url}"]


def run_doctor(*flags: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m doctor`` with ``flags``, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "doctor", *flags], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=timeout)
