"""docker-compose.yml: valid, pinned, healthy, ordered, and secure by default.

There is no Docker engine on these machines: the file is checked against the official Compose
schema and against what each service needs, and each health check command is run for real
against a local HTTP server standing in for the service.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
import threading

import jsonschema
import pytest
from tests.compose.compose_stack import ONE_SHOT, REPO, TOOLS, load_stack

from tests.support.shared import SCHEMAS_DIR

SCHEMA = SCHEMAS_DIR / "compose-spec.json"

EXPECTED_SERVICES = {
    "trader", "alertmanager-config", "sms-relay", "prometheus", "alertmanager", "grafana",
    "loki", "alloy", "stack-init", "healthcheck-tools", "doctor", "reports", "chat",
}
OPT_IN = {"sms-relay": ["sms"], "chat": ["chat"]}  # services that need tokens from .env: behind a profile
NAMED_VOLUMES = {  # volume -> (service, mount point) holding the state that must survive
    "trader-data": ("trader", "/data/state"),
    "prometheus-data": ("prometheus", "/prometheus"),
    "grafana-data": ("grafana", "/var/lib/grafana"),
    "loki-data": ("loki", "/loki"),
    "alertmanager-data": ("alertmanager", "/alertmanager"),
    "alertmanager-config": ("alertmanager", "/config"),
    "reports-data": ("reports", "/data/reports"),
}
# Exact versions: v1.2.3 or 1.2.3, optionally with a variant suffix (-slim-bookworm, -musl).
EXACT_TAG = re.compile(r"v?\d+\.\d+\.\d+(-[a-z0-9.-]+)?")
# Images whose default user is not root (checked on their Dockerfiles upstream).
NON_ROOT_IMAGES = {"prom/prometheus": "nobody", "prom/alertmanager": "nobody", "grafana/loki": "10001",
                   "grafana/grafana": "472"}
# The one container left as root, and why.
ROOT_ALLOWED = {"alloy": "reads /var/run/docker.sock, owned by root:docker with a host-specific gid"}
SECRET_NAMES = re.compile(r"TOKEN|PASSWORD|SECRET|WEBHOOK|_SID|DEADMANSSWITCH|RELAY_URL")


@pytest.fixture(scope="module")
def stack():
    return load_stack()


def test_validates_against_the_compose_schema(stack):
    assert SCHEMA.is_file(), f"missing the Compose schema at {SCHEMA}"
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(stack.raw), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors)


def test_has_every_service_of_the_stack(stack):
    assert set(stack.services) == EXPECTED_SERVICES


def test_starts_with_no_env_at_all(stack):
    # load_stack() resolved every ${...} with an empty environment: nothing is required.
    assert "${" not in json.dumps(stack.resolved)


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_image_is_pinned_to_an_exact_version(stack, name):
    service = stack.services[name]
    image = service.get("image")
    assert image, f"{name}: no image"
    assert "@" not in image or EXACT_TAG.fullmatch(image.split("@")[0].rsplit(":", 1)[-1])
    repository, _, tag = image.split("@")[0].rpartition(":")
    assert repository and EXACT_TAG.fullmatch(tag), f"{name}: image {image!r} is not pinned to an exact version"
    if "build" in service:
        assert repository.startswith("trader-stack-"), f"{name}: our build must be tagged as ours, not {image!r}"


def test_dockerfile_base_image_is_pinned():
    bases = re.findall(r"(?m)^FROM\s+(\S+)", (REPO / "Dockerfile").read_text())
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?", base), f"FROM {base}: pin python:3.11.x-slim"


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES - ONE_SHOT - TOOLS))
def test_long_running_service_has_a_health_check_and_restarts(stack, name):
    service = stack.services[name]
    check = service.get("healthcheck")
    assert check and not check.get("disable"), f"{name}: no health check"
    assert check["test"][0] in ("CMD", "CMD-SHELL") and check["test"][0] != "NONE"
    assert service.get("restart") == "unless-stopped"


def test_one_shot_steps_are_waited_for(stack):
    assert set(stack.one_shot()) == ONE_SHOT
    waited = {dep for s in stack.services.values() for dep, cond in s.get("depends_on", {}).items()
              if cond["condition"] == "service_completed_successfully"}
    assert waited == ONE_SHOT


def test_dependency_conditions_match_the_dependency(stack):
    for name, service in stack.services.items():
        for dep, cond in service.get("depends_on", {}).items():
            assert dep in stack.services, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in stack.services[dep], f"{name} waits for {dep} to be healthy: it has no check"
            if cond["condition"] == "service_completed_successfully":
                assert dep in ONE_SHOT, f"{name} waits for {dep} to exit: it runs forever"


def _start_order(stack) -> list[str]:
    order, placed = [], set()
    while len(order) < len(stack.services):
        ready = sorted(n for n, s in stack.services.items()
                       if n not in placed and set(s.get("depends_on", {})) <= placed)
        assert ready, f"dependency cycle among {sorted(set(stack.services) - placed)}"
        order += ready
        placed |= set(ready)
    return order


def test_start_order(stack):
    order = _start_order(stack)
    before = lambda a, b: order.index(a) < order.index(b)  # noqa: E731
    assert before("alertmanager-config", "alertmanager"), "Alertmanager needs its rendered config"
    assert before("stack-init", "grafana"), "Grafana reads the admin password stack-init writes"
    assert before("loki", "alloy")
    for datasource in ("prometheus", "alertmanager"):
        assert before(datasource, "grafana"), f"Grafana's {datasource} datasource starts first when it can"
    # Which dependencies may block a start, and why, is tests/compose/test_compose_degrade.py.


def test_ports_are_bound_to_localhost_only(stack):
    for name, service in stack.services.items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: port {port!r} open to the network"
    assert "ports" not in stack.services["sms-relay"], "only Alertmanager talks to the relay"


def test_sms_relay_only_runs_when_sms_is_turned_on(stack):
    # The relay exits at start without its token and Twilio credentials; with no .env the stack
    # must not hold a crash-looping container, so the relay sits behind a profile.
    for name, profiles in OPT_IN.items():
        assert stack.services[name]["profiles"] == profiles
        assert not any(name in s.get("depends_on", {}) for s in stack.services.values())
    assert all("profiles" not in s for n, s in stack.services.items() if n not in OPT_IN and n not in TOOLS)


def test_state_lives_in_named_volumes(stack):
    declared = set(stack.raw["volumes"])
    assert set(NAMED_VOLUMES) <= declared
    for volume, (service, target) in NAMED_VOLUMES.items():
        mounts = [m.split(":")[:2] for m in stack.services[service]["volumes"]]
        assert [volume, target] in mounts, f"{service} must keep {target} in the {volume} volume"
    used = {m.split(":")[0] for s in stack.services.values() for m in s.get("volumes", []) if not m.startswith(("./", "/"))}
    assert used == declared, f"declared but unused or undeclared volumes: {sorted(used ^ declared)}"


def test_prometheus_has_lifecycle_reload_and_a_stated_retention(stack):
    flags = stack.services["prometheus"]["command"]
    assert "--web.enable-lifecycle" in flags
    (retention,) = [f for f in flags if f.startswith("--storage.tsdb.retention.time=")]
    assert re.fullmatch(r"--storage.tsdb.retention.time=\d+[dwy]", retention)


def test_grafana_is_locked_down(stack):
    env = stack.services["grafana"]["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env, "the admin password comes from a file, never a literal"
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/grafana/")
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false", "anonymous access is off unless .env turns it on"
    assert load_stack({"GRAFANA_ANONYMOUS_ENABLED": "true"}).services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == "/var/lib/grafana/dashboards/trader-overview.json"


def test_no_secret_in_a_command_line_or_a_literal(stack):
    for name, service in stack.raw["services"].items():
        command = json.dumps(service.get("command", ""))
        for variable in re.findall(r"\$\{([A-Z0-9_]+)", command):
            assert not SECRET_NAMES.search(variable), f"{name}: ${variable} on the command line (visible in ps)"
        for key, value in (service.get("environment") or {}).items():
            # a *_FILE variable holds where a secret is read (a mounted file), not the secret
            if SECRET_NAMES.search(key) and not key.endswith("_FILE"):
                assert re.fullmatch(r"\$\{%s:-\}" % key, str(value)), f"{name}: {key} must come from .env only"
    assert "admin:admin" not in (REPO / "docker-compose.yml").read_text()


def test_containers_run_as_non_root(stack):
    for name, service in stack.services.items():
        user = str(service.get("user", ""))
        image = service["image"].rsplit(":", 1)[0]
        if name in ROOT_ALLOWED:
            continue
        if user:
            assert user.split(":")[0] not in ("0", "root"), f"{name}: runs as root"
        elif "build" in service:
            assert re.search(r"(?m)^USER\s+10001", (REPO / "Dockerfile").read_text()), "Dockerfile: USER missing"
        else:
            assert image in NON_ROOT_IMAGES, f"{name}: {image} runs as root unless `user:` is set"
    for name, service in stack.services.items():
        if "build" in service:
            assert service.get("cap_drop") == ["ALL"], f"{name}: drop every capability"


# --- health checks, run for real ---------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _local_command(test: list[str], port: int) -> list[str]:
    """The container's check command, aimed at the local stand-in, with host tools."""
    assert test[0] == "CMD", "use the exec form: no shell is needed and none is in every image"
    argv = [re.sub(r"127\.0\.0\.1[:/](\d+)", lambda m: m.group(0).replace(m.group(1), str(port)), a) for a in test[1:]]
    if argv[0].endswith("/busybox"):
        argv = argv[1:]  # busybox wget in the container; the host's wget takes the same flags
    tool = {"python": sys.executable}.get(argv[0]) or shutil.which(argv[0])
    assert tool, f"{argv[0]} is not installed here: cannot run the health check"
    return [tool, *argv[1:]]


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES - ONE_SHOT - TOOLS))
def test_health_check_passes_on_200_and_fails_otherwise(stack, name, health_server):
    command = _local_command(stack.services[name]["healthcheck"]["test"], health_server.server_address[1])
    ok = subprocess.run(command, capture_output=True, timeout=20)
    assert ok.returncode == 0, f"{name}: check failed against a healthy service: {ok.stderr.decode()[-300:]}"
    health_server.status = 503
    bad = subprocess.run(command, capture_output=True, timeout=20)
    assert bad.returncode != 0, f"{name}: check passes while the service answers 503"
