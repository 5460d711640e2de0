"""Degrade, don't block: the metrics path (trader, Prometheus, Alertmanager, Grafana) starts and
stays up when the logs path (Loki, Alloy) fails, every `depends_on` says why it is there, and the
doctor is a tool run on demand.

Compose semantics used (https://docs.docker.com/reference/compose-file/services/#depends_on):
`condition: service_healthy` waits for the dependency's health check; `required: false` makes
Compose only warn when the dependency is not started or not available, instead of refusing to
start the dependent service.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml

from tests.compose.compose_stack import COMPOSE_FILE, REPO, load_stack

LOGS_PATH = {"loki", "alloy", "healthcheck-tools"}  # healthcheck-tools exists only for Loki
METRICS_PATH = {"trader", "prometheus", "alertmanager", "alertmanager-config", "grafana"}
KINDS = {"Needed to start": "needed", "Only useful": "useful"}


@pytest.fixture(scope="module")
def stack():
    return load_stack()


def _required_closure(stack, name: str) -> set[str]:
    """Every service `name` cannot start without, transitively (`required: false` edges are not)."""
    seen, pending = set(), [name]
    while pending:
        for dep, cond in stack.services[pending.pop()].get("depends_on", {}).items():
            if cond.get("required", True) and dep not in seen:
                seen.add(dep)
                pending.append(dep)
    return seen


def test_no_long_running_service_waits_for_the_logs_path_to_be_healthy(stack):
    for name in stack.long_running():
        for dep, cond in stack.services[name].get("depends_on", {}).items():
            if dep in {"loki", "alloy"}:
                assert cond["condition"] != "service_healthy", f"{name} waits for {dep} to be healthy"
                assert cond.get("required") is False, f"{name} cannot start when {dep} fails"


@pytest.mark.parametrize("name", sorted(METRICS_PATH))
def test_the_metrics_path_starts_whatever_the_logs_path_does(stack, name):
    blocked_by = _required_closure(stack, name) & LOGS_PATH
    assert not blocked_by, f"{name} cannot start without {sorted(blocked_by)}"


def test_grafana_does_not_even_wait_for_the_logs_path_to_start(stack):
    # Its dashboards must open whether or not Loki started; the Logs dashboard says when it is down.
    assert not set(stack.services["grafana"]["depends_on"]) & {"loki", "alloy"}


def test_alerts_are_routed_even_when_grafana_cannot_start(stack):
    # A weak GRAFANA_ADMIN_PASSWORD stops stack-init: that must only take Grafana down.
    for name in ("prometheus", "alertmanager", "alertmanager-config", "trader"):
        assert "stack-init" not in _required_closure(stack, name), name
    assert "stack-init" in _required_closure(stack, "grafana")


def test_a_bad_channel_value_does_not_stop_the_metrics(stack):
    # A malformed DISCORD_WEBHOOK_URL fails the render step, so Alertmanager never starts:
    # Prometheus must still scrape and evaluate (its meta alerts show in its own UI), Grafana open.
    for name in ("prometheus", "grafana", "trader", "loki"):
        assert "alertmanager-config" not in _required_closure(stack, name), name


def _dependency_comments(text: str) -> dict[tuple[str, str], str | None]:
    """(service, dependency) -> the kind its comment gives ("needed" or "useful"); a comment
    above a dependency also covers the ones after it up to the next comment."""
    kinds, service, in_block, current = {}, None, False, None
    for line in text.splitlines():
        if match := re.fullmatch(r"  ([a-z][a-z0-9-]*):", line):
            service, in_block = match.group(1), False
        elif line == "    depends_on:":
            in_block, current = True, None
        elif in_block and (match := re.fullmatch(r"      # (.*)", line)):
            prefix = match.group(1).split(":", 1)[0]
            current = KINDS.get(prefix, current)
        elif in_block and (match := re.fullmatch(r"      ([a-z][a-z0-9-]*):", line)):
            kinds[(service, match.group(1))] = current
        elif in_block and not line.startswith("        ") and not line.startswith("      #"):
            in_block = False
    return kinds


def test_every_dependency_says_whether_it_is_needed_or_only_useful(stack):
    comments = _dependency_comments(COMPOSE_FILE.read_text())
    for name, service in stack.services.items():
        for dep, cond in service.get("depends_on", {}).items():
            kind = comments.get((name, dep))
            assert kind, f"{name} -> {dep}: no '# Needed to start: ...' or '# Only useful: ...' comment above it"
            if kind == "useful":
                assert cond.get("required") is False and cond["condition"] == "service_started", \
                    f"{name} -> {dep} is only useful: it must be `service_started` with `required: false`"
            else:
                assert cond.get("required", True) is True, f"{name} -> {dep} is needed: it cannot be optional"


def test_the_comment_parser_sees_a_missing_reason():
    reason = "      # Needed to start: the admin password file stack-init writes.\n"
    text = COMPOSE_FILE.read_text()
    assert reason in text
    assert _dependency_comments(text)[("grafana", "stack-init")] == "needed"
    assert _dependency_comments(text.replace(reason, ""))[("grafana", "stack-init")] is None


# --- the doctor ----------------------------------------------------------------------------


def test_the_doctor_runs_only_on_demand_and_starts_nothing(stack):
    doctor = stack.services["doctor"]
    assert doctor["profiles"] == ["tools"], "`docker compose up` must not start the doctor"
    assert "depends_on" not in doctor, "`docker compose run` would start its dependencies"
    assert doctor["restart"] == "no"
    assert doctor["image"] == stack.services["trader"]["image"], "the project's image"
    assert doctor["entrypoint"][:3] == ["python", "-m", "doctor"]
    assert doctor["command"] == [], "flags given to `docker compose run --rm doctor` are added to the entrypoint"


def _flags(stack) -> dict[str, str]:
    return dict(arg[2:].split("=", 1) for arg in stack.services["doctor"]["entrypoint"][3:])


def test_the_doctor_checks_every_service_where_it_listens(stack):
    flags = _flags(stack)
    prometheus = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    scraped = {job["job_name"]: target for job in prometheus["scrape_configs"]
               for group in job.get("static_configs", []) for target in group["targets"]}
    grafana_port = stack.services["grafana"]["ports"][0].rsplit(":", 1)[1]
    assert scraped["grafana"] == f"grafana:{grafana_port}", "Prometheus scrapes Grafana where it listens"
    expected = {"prometheus": f"prometheus:{scraped['prometheus'].split(':')[1]}",
                "alertmanager": scraped["alertmanager"], "loki": scraped["loki"], "alloy": scraped["alloy"],
                "trader": scraped["trader"], "grafana": scraped["grafana"]}
    for service, hostport in expected.items():
        assert urlsplit(flags[service]).netloc == hostport, f"--{service}={flags[service]}: expected {hostport}"


def test_the_doctor_reads_the_password_grafana_reads_and_cannot_change_it(stack):
    path = _flags(stack)["grafana-password-file"]
    assert path == stack.services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    mounts = [m.split(":") for m in stack.services["doctor"]["volumes"]]
    assert ["grafana-secrets", path.rsplit("/", 1)[0], "ro"] in mounts
