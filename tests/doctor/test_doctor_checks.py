"""``python -m doctor`` against the running stack (tests/doctor/doctor_stack.py): all ✔ and exit
0 when healthy; each broken part gives its ✘ with the likely cause and the fix; a part that
cannot be reached is one line; a logs-path failure never changes the exit code."""

from __future__ import annotations

import json
import re

import pytest

from tests.alertmanager.am_stack import render_config
from tests.doctor.doctor_stack import doctor_flags, run_doctor, start_prometheus_for
from tests.doctor.standins import GrafanaStandIn
from tests.support.alertmanager import AlertmanagerServer
from tests.support.ports import free_port
from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT

pytestmark = pytest.mark.slow

SERVICES = ("Prometheus", "Alertmanager", "Trader", "Grafana", "Loki", "Alloy")
ONLY = {name.lower(): [f"--skip={other.lower()}" for other in SERVICES if other != name] for name in SERVICES}

# A rule that fails at every evaluation: `on()` matches both right-hand series to the one left one.
FAILING_RULE = """groups:
  - name: broken
    rules:
      - record: test:many_to_many:sum
        expr: vector(1) + on() (vector(1) or label_replace(vector(2), "side", "b", "", ""))
"""


def _section(output: str, service: str) -> list[str]:
    """The check lines (with their cause and fix lines) under one service's heading."""
    lines, inside = [], False
    for line in output.splitlines():
        if re.match(rf"{service}  https?://", line):
            inside = True
        elif inside and (not line.startswith("  ")):
            break
        elif inside:
            lines.append(line)
    return lines


def _check_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("  ✔ ", "  ✘ "))]


def test_a_healthy_stack_is_all_ticks_and_exit_0(stack):
    result = run_doctor(*doctor_flags(stack))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✘" not in result.stdout, result.stdout
    for service in SERVICES:
        assert _check_lines(_section(result.stdout, service)), f"no {service} checks:\n{result.stdout}"
    assert result.stdout.rstrip().endswith("Alerts can reach a person: yes.")
    channels = "sms (webhook), telegram, discord (slack), email, slack, deadmansswitch (webhook)"
    assert f"✔ channels: {channels}" in result.stdout
    assert "✔ datasource Alertmanager: reached through Grafana's proxy" in result.stdout
    assert result.stderr == ""


def test_json_says_the_same_for_a_script(stack):
    result = run_doctor(*doctor_flags(stack), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["alerts_reach_a_person"] is True
    assert [s["service"] for s in report["services"]] == list(SERVICES)
    required = {s["service"] for s in report["services"] if s["required"]}
    assert required == {"Prometheus", "Alertmanager"}, "only the alerting path decides the exit code"
    assert all(c["ok"] for s in report["services"] for c in s["checks"])


def test_the_readme_shows_the_checks_the_doctor_really_makes(stack):
    readme = (REPO_ROOT / "README.md").read_text()
    shown = readme.split("Stack doctor, ", 1)[1].split("```", 1)[0]
    result = run_doctor(*doctor_flags(stack))
    def names(text: str) -> list[str]:
        return [re.sub(r"^  ✔ ([^:]+):.*", r"\1", line) for line in text.splitlines() if line.startswith("  ✔ ")]

    assert names(shown) == names(result.stdout), "README.md's doctor output is stale: paste a fresh run"


def test_a_broken_target_and_a_failing_rule_each_say_what_and_how_to_fix_it(stack, tmp_path):
    dead = f"127.0.0.1:{free_port()}"
    dead_jobs = {"sms-relay", "loki", "grafana"}
    prometheus = start_prometheus_for(stack, tmp_path, extra_jobs={job: dead for job in dead_jobs},
                                      extra_rules={"rules/broken.yml": FAILING_RULE})
    every_job = len(stack.prometheus.targets())  # as many targets as the healthy stack scrapes
    try:
        def settled():
            health = {t["labels"]["job"]: t["health"] for t in prometheus.targets()}
            rules = {r["name"]: r["health"] for g in prometheus.rules() for r in g["rules"]}
            return rules.get("test:many_to_many:sum") == "err" and len(health) == every_job and all(
                state == ("down" if job in dead_jobs else "up") for job, state in health.items())
        wait_until(settled, 30, "the dead targets scraped and the broken rule evaluated")
        result = run_doctor(f"--prometheus={prometheus.url}", *ONLY["prometheus"])
    finally:
        prometheus.stop()
    lines = _section(result.stdout, "Prometheus")
    text = "\n".join(lines)
    assert result.returncode == 1, result.stdout
    rule = lines.index(next(l for l in lines if l.startswith("  ✘ rule test:many_to_many:sum: group broken: ")))
    assert "many-to-many matching not allowed" in lines[rule]
    assert lines[rule + 1].startswith("      cause: the expression fails at evaluation")
    assert lines[rule + 2].startswith("      fix:   fix the rule in prometheus/rules/broken.yml")
    target = lines.index(next(l for l in lines if l.startswith(f"  ✘ target sms-relay: {dead} down: ")))
    assert "connection refused" in lines[target] and not lines[target].endswith("(not needed for alerts)")
    assert lines[target + 2] == "      fix:   docker compose logs --tail=50 sms-relay"
    assert re.search(rf"  ✘ target loki: {dead} down: .*\(not needed for alerts\)", text), text
    assert re.search(rf"  ✘ target grafana: {dead} down: .*\(not needed for alerts\)", text), text
    assert result.stdout.rstrip().endswith(
        "Alerts can reach a person: NO. Failing: Prometheus rule test:many_to_many:sum, Prometheus target sms-relay. "
        "Outside the alerting path, failing: Prometheus target grafana, Prometheus target loki.")


def test_a_datasource_failing_its_health_check_is_named_with_the_service_to_look_at(stack):
    dead = f"http://127.0.0.1:{free_port()}"
    with GrafanaStandIn(stack.password_file, {"prometheus": stack.prometheus.url, "loki": dead,
                                              "alertmanager": stack.alertmanager.url}) as grafana:
        result = run_doctor(f"--grafana={grafana.url}", f"--grafana-password-file={stack.password_file}",
                            *ONLY["grafana"])
    lines = _section(result.stdout, "Grafana")
    failing = [l for l in lines if l.startswith("  ✘ ")]
    assert failing == ["  ✘ datasource Loki: health check ERROR: Unable to connect with Loki. Please check the "
                       "server logs for more details."], result.stdout
    at = lines.index(failing[0])
    assert lines[at + 1] == f"      cause: Grafana cannot query loki at {dead}"
    assert lines[at + 2] == "      fix:   docker compose logs --tail=50 loki"
    assert "✔ datasource Prometheus: Successfully queried the Prometheus API." in result.stdout
    assert result.returncode == 0, "Grafana is not on the alerting path"


def test_an_unreachable_service_is_one_line_naming_it_and_its_url(stack):
    nobody = f"http://127.0.0.1:{free_port()}"
    flags = [f for f in doctor_flags(stack) if not f.startswith("--loki=")]
    result = run_doctor(*flags, f"--loki={nobody}")
    assert _check_lines(_section(result.stdout, "Loki")) == [
        f"  ✘ reachable: cannot reach Loki at {nobody}: connection refused"]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, "the logs path being down must not fail the alerting verdict"
    assert result.stdout.rstrip().endswith("Alerts can reach a person: yes. Outside the alerting path, failing: Loki.")


def test_a_logs_path_that_is_up_but_unwell_is_shown_and_not_fatal(stack):
    stack.loki.ready, stack.alloy.unhealthy = False, "loki.write.loki"
    try:
        result = run_doctor(*doctor_flags(stack))
    finally:
        stack.loki.ready, stack.alloy.unhealthy = True, ""
    assert "  ✘ ready: /ready answered HTTP 503: Ingester not ready: waiting for 15s after being ready" \
        in result.stdout
    assert "  ✘ components: /-/healthy answered HTTP 500: unhealthy components: loki.write.loki" in result.stdout
    assert result.returncode == 0


def test_the_grafana_password_is_used_and_never_shown(stack, tmp_path):
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password-0123\n")
    refused = run_doctor(f"--grafana={stack.grafana.url}", f"--grafana-password-file={wrong}", *ONLY["grafana"])
    missing = run_doctor(f"--grafana={stack.grafana.url}", f"--grafana-password-file={tmp_path / 'none'}",
                         *ONLY["grafana"])
    healthy = run_doctor(*doctor_flags(stack), "--json")
    assert "  ✘ admin login: Grafana refused admin with the password file (HTTP 401)" in refused.stdout
    assert f"  ✘ admin login: cannot read --grafana-password-file {tmp_path / 'none'}: No such file or directory" \
        in missing.stdout
    for result in (refused, missing, healthy):
        out = result.stdout + result.stderr
        assert stack.password_file.read_text().strip() not in out and "not-the-password-0123" not in out


def test_no_channel_configured_means_alerts_reach_nobody(tmp_path):
    rendered = render_config(tmp_path / "am", {})
    alertmanager = AlertmanagerServer(tmp_path / "run", rendered.config_text, rendered.files)
    try:
        result = run_doctor(f"--alertmanager={alertmanager.url}", *ONLY["alertmanager"])
    finally:
        alertmanager.stop()
    lines = _section(result.stdout, "Alertmanager")
    at = lines.index("  ✘ channels: no channel configured: every alert ends in the blackhole receiver")
    assert lines[at + 2].startswith("      fix:   cp .env.example .env")
    assert result.returncode == 1
