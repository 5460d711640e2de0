"""deploy/: growing past one machine. Several traders for one Prometheus (file_sd), remote_write
to Mimir, Thanos Receive and VictoriaMetrics, and an Alertmanager pair in cluster mode, each
checked with the real promtool and against the compose schema."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from tests.compose.compose_stack import REPO, load_stack

from tests.support.processes import require_binary
from tests.support.shared import SCHEMAS_DIR

DEPLOY = REPO / "deploy"
BASE_PROMETHEUS = REPO / "prometheus" / "prometheus.yml"
SCHEMA = SCHEMAS_DIR / "compose-spec.json"


def _promtool_check(config: dict, tmp_path: Path) -> str:
    """promtool check config on `config` laid out with the repository's rules and targets."""
    text = yaml.safe_dump(config, sort_keys=False)
    text = text.replace("/etc/prometheus/rules", str(REPO / "prometheus" / "rules"))
    text = text.replace("/etc/prometheus/targets", str(DEPLOY / "prometheus" / "targets"))
    path = tmp_path / "prometheus.yml"
    path.write_text(text)
    result = subprocess.run([require_binary("promtool"), "check", "config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _without(config: dict, job: str | None = None, alerting: bool = False) -> dict:
    config = json.loads(json.dumps(config))
    if alerting:
        config.pop("alerting")
    if job:
        config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] != job]
    return config


# --- several traders ---------------------------------------------------------------------------


def test_multi_trader_config_passes_promtool_with_its_targets(tmp_path):
    config = yaml.safe_load((DEPLOY / "prometheus" / "multi-trader.yml").read_text())
    output = _promtool_check(config, tmp_path)
    assert "SUCCESS" in output


def test_multi_trader_config_differs_from_the_base_only_in_the_trader_job():
    base = yaml.safe_load(BASE_PROMETHEUS.read_text())
    multi = yaml.safe_load((DEPLOY / "prometheus" / "multi-trader.yml").read_text())
    assert _without(multi, "trader") == _without(base, "trader"), (
        "deploy/prometheus/multi-trader.yml drifted from prometheus/prometheus.yml: copy the change there")
    (job,) = [j for j in multi["scrape_configs"] if j["job_name"] == "trader"]
    assert job["file_sd_configs"][0]["files"] == ["/etc/prometheus/targets/traders*.yml"]


def test_trader_targets_file_is_valid_file_sd():
    groups = yaml.safe_load((DEPLOY / "prometheus" / "targets" / "traders.yml").read_text())
    targets = [t for g in groups for t in g["targets"]]
    assert len(targets) >= 2 and all(re.fullmatch(r"[\w.-]+:\d+", t) for t in targets)
    assert all(set(g) <= {"targets", "labels"} for g in groups)
    override = yaml.safe_load((DEPLOY / "compose.multi-trader.yml").read_text())
    hosts = {t.split(":")[0] for t in targets}
    assert hosts <= set(load_stack().services) | set(override["services"]), "every compose target is a service"


# --- remote_write -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["mimir", "thanos-receive", "victoriametrics"])
def test_remote_write_example_passes_promtool_in_the_base_config(backend, tmp_path):
    fragment = yaml.safe_load((DEPLOY / "remote-write" / f"{backend}.yml").read_text())
    assert set(fragment) == {"remote_write"}, "a block to paste at the top level of prometheus.yml"
    for target in fragment["remote_write"]:
        # Credentials come from mounted files, never from the repository.
        assert not {"password", "bearer_token", "credentials"} & set(json.dumps(target).split('"'))
    config = {**yaml.safe_load(BASE_PROMETHEUS.read_text()), **fragment}
    _promtool_check(config, tmp_path)


# --- Alertmanager pair -------------------------------------------------------------------------


def _override(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


@pytest.mark.parametrize("name", ["compose.multi-trader.yml", "compose.alertmanager-cluster.yml"])
def test_override_is_valid_compose_on_top_of_the_base(name):
    override = _override(name)
    schema = json.loads(SCHEMA.read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(override))
    assert not errors, [e.message[:200] for e in errors]
    base = load_stack()
    declared = set(base.raw["volumes"]) | set(override.get("volumes") or {})
    for service_name, service in override["services"].items():
        new = service_name not in base.services
        if new:
            assert "healthcheck" in service and service["restart"] == "unless-stopped", service_name
            tag = service["image"].rsplit(":", 1)[1]
            assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{service_name}: pin the image"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{service_name}: {port}"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
        for dep in service.get("depends_on", {}):
            assert dep in base.services or dep in override["services"]


def test_cluster_members_peer_with_each_other_and_keep_their_own_state():
    services = _override("compose.alertmanager-cluster.yml")["services"]
    first, second = services["alertmanager"]["command"], services["alertmanager-2"]["command"]
    assert "--cluster.peer=alertmanager-2:9094" in first and "--cluster.peer=alertmanager:9094" in second
    assert "--cluster.listen-address=0.0.0.0:9094" in first and "--cluster.listen-address=0.0.0.0:9094" in second
    base_alertmanager = load_stack().raw["services"]["alertmanager"]
    # The base command plus the cluster flags: a changed base flag must be mirrored here.
    base_flags = [f for f in base_alertmanager["command"] if not f.startswith("--cluster.")]
    assert [f for f in first if not f.startswith("--cluster.")] == base_flags
    data = [m for m in services["alertmanager-2"]["volumes"] if m.endswith(":/alertmanager")]
    assert data == ["alertmanager-2-data:/alertmanager"], "two members must never share a data directory"
    loki_flags = services["loki"]["command"]
    assert "-ruler.alertmanager-url=http://alertmanager:9093,http://alertmanager-2:9093" in loki_flags


def test_cluster_prometheus_alerts_both_members_and_passes_promtool(tmp_path):
    base = yaml.safe_load(BASE_PROMETHEUS.read_text())
    cluster = yaml.safe_load((DEPLOY / "alertmanager-cluster" / "prometheus.yml").read_text())
    assert _without(cluster, "alertmanager", alerting=True) == _without(base, "alertmanager", alerting=True), (
        "deploy/alertmanager-cluster/prometheus.yml drifted from prometheus/prometheus.yml: copy the change there")
    targets = cluster["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093", "alertmanager-2:9093"]
    _promtool_check(cluster, tmp_path)


def _flag(command: list[str], name: str) -> str:
    (value,) = [f.split("=", 1)[1] for f in command if f.startswith(name + "=")]
    return value


def test_pair_shares_silences_with_the_real_binary(tmp_path):
    """Two real Alertmanagers with the pair's cluster flags: a silence made on one is on both."""
    import sys

    import requests

    from tests.support.ports import free_port
    from tests.support.processes import ManagedProcess, wait_until

    binary = require_binary("alertmanager")
    services = _override("compose.alertmanager-cluster.yml")["services"]
    config = tmp_path / "alertmanager.yml"
    rendered = subprocess.run([sys.executable, "-m", "alertmanager.render", "--out", str(config)],
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
                              capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    names = ["alertmanager", "alertmanager-2"]
    web = {n: free_port() for n in names}
    gossip = {n: free_port() for n in names}
    members = []
    try:
        for name in names:
            command = services[name]["command"]
            peer = _flag(command, "--cluster.peer").split(":")[0]  # the other member's service name
            assert peer in names and peer != name
            assert _flag(command, "--cluster.listen-address").endswith(":9094")
            member = ManagedProcess(name, [
                binary, f"--config.file={config}", f"--storage.path={tmp_path / name}",
                f"--web.listen-address=127.0.0.1:{web[name]}",
                # The compose flags, with the ports this test could get instead of 9094.
                f"--cluster.listen-address=127.0.0.1:{gossip[name]}",
                f"--cluster.advertise-address=127.0.0.1:{gossip[name]}",
                f"--cluster.peer=127.0.0.1:{gossip[peer]}",
                "--log.level=warn",
            ], tmp_path / f"{name}.log", cwd=tmp_path)
            members.append(member)
        for name, member in zip(names, members):
            member.wait_ready(f"http://127.0.0.1:{web[name]}/-/ready")
        silence = {"matchers": [{"name": "alertname", "value": "TraderFeedDown", "isRegex": False}],
                   "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                   "createdBy": "test", "comment": "maintenance"}
        first = f"http://127.0.0.1:{web['alertmanager']}"
        second = f"http://127.0.0.1:{web['alertmanager-2']}"
        requests.post(f"{first}/api/v2/silences", json=silence, timeout=10).raise_for_status()

        def on_second():
            found = requests.get(f"{second}/api/v2/silences", timeout=5).json()
            return [s for s in found if s["comment"] == "maintenance"]

        wait_until(on_second, 30, "the silence made on alertmanager to reach alertmanager-2")
        peers = requests.get(f"{second}/api/v2/status", timeout=5).json()["cluster"]["peers"]
        assert len(peers) == 2
    finally:
        for member in members:
            member.stop()
