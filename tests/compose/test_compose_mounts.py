"""What docker-compose.yml mounts exists in the repository and passes its own tool's check,
and the variables it passes are the ones the services read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.compose.compose_stack import REPO, env_example, load_stack

# Files produced at run time by a step of the stack, not the repository.
GENERATED = {"/config/alertmanager.yml": "alertmanager-config (python -m alertmanager.render)"}


@pytest.fixture(scope="module")
def stack():
    return load_stack()


def _bind_mounts(stack):
    for name, service in stack.services.items():
        for mount in service.get("volumes", []):
            source, target = mount.split(":")[:2]
            if source.startswith("./"):
                yield name, REPO / source[2:], target


def test_every_bind_mount_exists_in_the_repository(stack):
    missing = [f"{name}: {source.relative_to(REPO)} (mounted at {target})"
               for name, source, target in _bind_mounts(stack) if not source.exists()]
    assert not missing, "missing files or folders the stack mounts:\n" + "\n".join(missing)


def test_every_file_a_service_is_told_to_read_is_mounted_or_generated(stack):
    for name, service in stack.services.items():
        command = service.get("command", [])
        args = command if isinstance(command, list) else command.split()
        for arg in args:
            for path in re.findall(r"(?:^|=)(/etc/\S+\.(?:yml|yaml|alloy)|/config/\S+)", arg):
                mounted = [t for _, _, t in _bind_mounts(stack) if path == t or path.startswith(t + "/")]
                named = [m.split(":")[1] for m in service.get("volumes", []) if path.startswith(m.split(":")[1] + "/")]
                assert mounted or path in GENERATED and named, f"{name} reads {path}: neither mounted nor generated"


# --- Prometheus ---------------------------------------------------------------------------


def _promtool() -> str:
    from tests.support.processes import require_binary

    return require_binary("promtool")


def test_prometheus_config_and_rules_pass_promtool(stack, tmp_path):
    promtool = _promtool()
    mounts = {target: source for name, source, target in _bind_mounts(stack) if name == "prometheus"}
    config = mounts["/etc/prometheus/prometheus.yml"]
    rules_dir = mounts["/etc/prometheus/rules"]
    # Lay the files out as the container sees them, so the rule_files glob finds the rules.
    text = config.read_text().replace("/etc/prometheus/rules", str(rules_dir))
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.findall(r"Checking (\S+\.yml)", result.stdout + result.stderr)
    assert len([c for c in checked if str(rules_dir) in c]) == len(list(rules_dir.glob("*.yml"))) > 0


def test_prometheus_scrapes_the_services_compose_runs(stack):
    config = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for target in [t for sc in job.get("static_configs", []) for t in sc["targets"]]:
            host, port = target.rsplit(":", 1)
            if host == "localhost":
                continue
            assert host in stack.services, f"job {job['job_name']}: target {target} is no compose service"
            assert job["job_name"] == host, "job names equal service names"


# --- the trader's journal ----------------------------------------------------------------------


def test_the_trader_journals_into_its_volume_where_the_image_user_can_write(stack):
    """The default --state-dir (./state) under the image's working directory is the trader-data
    mount, and the image creates that directory for uid 10001 (a new named volume takes the
    owner of the directory it is mounted on; one the image lacks would be root's)."""
    import posixpath

    from trader.config import DEFAULT_STATE_DIR

    dockerfile = (REPO / "Dockerfile").read_text()
    (workdir,) = re.findall(r"(?m)^WORKDIR\s+(\S+)\s*$", dockerfile.split("\nFROM ")[-1])
    state = posixpath.join(workdir, DEFAULT_STATE_DIR)
    assert f"trader-data:{state}" in stack.services["trader"]["volumes"]
    assert "--state-dir" not in str(stack.services["trader"]["command"]), "the default, so a replay keeps no journal"
    assert re.search(rf"mkdir -p [^\n]*{re.escape(state)}\b", dockerfile), f"the image must create {state}"
    assert re.search(rf"chown 10001:0 [^\n]*{re.escape(state)}\b", dockerfile), f"{state} must belong to uid 10001"
    assert re.search(r"(?m)^USER\s+10001", dockerfile)


def test_a_second_trader_has_a_journal_of_its_own():
    override = yaml.safe_load((REPO / "deploy" / "compose.multi-trader.yml").read_text())
    mounts = [m for m in override["services"]["trader-2"]["volumes"] if m.endswith(":/data/state")]
    assert mounts == ["trader-2-data:/data/state"], "two traders must never share a state dir"
    assert "trader-2-data" in override["volumes"]


# --- Alertmanager ---------------------------------------------------------------------------


def test_alertmanager_config_rendered_with_no_env_passes_amtool(stack, tmp_path):
    from tests.support.processes import require_binary

    amtool = require_binary("amtool")
    render = stack.services["alertmanager-config"]
    assert (REPO / "alertmanager" / "render.py").is_file(), "missing alertmanager/render.py (the render step)"
    # The environment compose gives the step with no .env: every variable empty.
    env = {k: v for k, v in render["environment"].items()}
    env.update(PATH=os.environ["PATH"], PYTHONPATH=str(REPO))
    templates = [m.split(":")[0] for m in stack.services["alertmanager"]["volumes"] if m.endswith(":/etc/alertmanager/templates:ro")]
    assert templates == ["./alertmanager/templates"]
    args = list(render["command"])
    out = tmp_path / "alertmanager.yml"
    args[args.index("--out") + 1] = str(out)
    args[args.index("--templates") + 1] = str(REPO / "alertmanager" / "templates")
    args[0] = sys.executable
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check = subprocess.run([amtool, "check-config", str(out)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout


# --- Loki and Alloy -----------------------------------------------------------------------


def test_loki_and_alloy_mount_what_their_configs_expect(stack):
    loki = yaml.safe_load((REPO / "loki" / "loki.yml").read_text())
    loki_mounts = {target: source for name, source, target in _bind_mounts(stack) if name == "loki"}
    assert loki_mounts["/etc/loki/loki.yml"] == REPO / "loki" / "loki.yml"
    assert loki_mounts[loki["ruler"]["storage"]["local"]["directory"]] == REPO / "loki" / "rules"
    assert any(f.suffix == ".yml" for f in (REPO / "loki" / "rules" / "fake").iterdir())
    assert "loki-data:/loki" in stack.services["loki"]["volumes"]
    alloy = stack.services["alloy"]
    assert "./loki/config.alloy:/etc/alloy/config.alloy:ro" in alloy["volumes"]
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in alloy["volumes"]
    assert alloy["environment"]["COMPOSE_PROJECT_NAME"] == stack.raw["name"], "Alloy must keep this project's logs"
    # The structural checks of these files are tests/loki/.


# --- Grafana --------------------------------------------------------------------------------


def test_grafana_provisioning_points_at_the_stacks_services(stack):
    provisioning = REPO / "grafana" / "provisioning"
    assert provisioning.is_dir(), "missing grafana/provisioning (the Grafana part)"
    datasources = [d for f in sorted((provisioning / "datasources").glob("*.y*ml"))
                   for d in yaml.safe_load(f.read_text()).get("datasources", [])]
    assert {d["type"] for d in datasources} >= {"prometheus", "loki", "alertmanager"}
    for ds in datasources:
        host, port = re.fullmatch(r"https?://([^:/]+):(\d+)/?", ds["url"]).groups()
        assert host in stack.services, f"datasource {ds['name']}: {host} is no compose service"
    providers = [p for f in sorted((provisioning / "dashboards").glob("*.y*ml"))
                 for p in yaml.safe_load(f.read_text()).get("providers", [])]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]


def test_grafana_dashboards_are_valid_json_with_the_home_dashboard(stack):
    dashboards = REPO / "grafana" / "dashboards"
    assert dashboards.is_dir(), "missing grafana/dashboards (the Grafana part)"
    uids = []
    for path in sorted(dashboards.glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert dashboard.get("uid") and dashboard.get("title") and dashboard.get("panels"), path.name
        uids.append(dashboard["uid"])
    assert len(uids) == len(set(uids)) > 0
    home = stack.services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    home_file = dashboards / Path(home).relative_to("/var/lib/grafana/dashboards")
    assert home_file.is_file(), f"home dashboard {home} is not in grafana/dashboards"
    assert json.loads(home_file.read_text())["uid"] == "trader-overview"


# --- environment ------------------------------------------------------------------------------


def _variables_read(paths: list[Path]) -> set[str]:
    """Upper-case names the code reads from the environment (lines that mention env/environ)."""
    names = set()
    for path in paths:
        for line in path.read_text().splitlines():
            if re.search(r"\benv\b|environ|getenv", line):
                # NAME_LIKE_THIS: an underscore, so channel names such as "SMS" in messages do not count.
                names |= set(re.findall(r"[\"']([A-Z][A-Z0-9]*_[A-Z0-9_]+)[\"']", line))
    return names


READERS = {  # service -> the code that reads its environment
    "alertmanager-config": ["alertmanager/settings.py", "alertmanager/render.py"],
    "sms-relay": ["alertmanager/sms.py", "alertmanager/twilio.py", "alertmanager/sms_relay.py"],
    "stack-init": ["deploy/container/stack_init.py"],
    "chat": ["chat/settings.py", "chat/service.py"],
}


@pytest.mark.parametrize("service", sorted(READERS))
def test_passed_variables_are_the_ones_the_service_reads(stack, service):
    files = [REPO / p for p in READERS[service]]
    missing = [str(f.relative_to(REPO)) for f in files if not f.is_file()]
    assert not missing, f"{service}: missing {missing}"
    read = _variables_read(files)
    passed = set(stack.services[service].get("environment", {}))
    assert passed == read, f"{service}: passed but never read {sorted(passed - read)}; read but not passed {sorted(read - passed)}"


def test_env_example_documents_every_variable_the_file_uses():
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO / "docker-compose.yml").read_text()))
    documented = env_example()
    assert used - {"COMPOSE_PROJECT_NAME"} <= set(documented), f"undocumented: {sorted(used - set(documented))}"
    channel_variables = {  # issue 6's list, plus the Slack channel
        "DISCORD_WEBHOOK_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_URL",
        "SMTP_SMARTHOST", "SMTP_FROM", "SMTP_TO", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_REQUIRE_TLS",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "SMS_TO", "TWILIO_API_URL",
        "SMS_RELAY_URL", "SMS_RELAY_TOKEN", "DEADMANSSWITCH_URL", "SLACK_WEBHOOK_URL",
        "GRAFANA_ADMIN_PASSWORD", "GRAFANA_URL", "RUNBOOK_BASE_URL", "TRADER_ARGS", "COMPOSE_PROFILES",
    }
    assert channel_variables <= set(documented), f"not in .env.example: {sorted(channel_variables - set(documented))}"
    assert all(documented.values()), "every variable needs an example value"


def test_env_example_values_are_accepted_by_the_render_step(tmp_path):
    """Uncommenting every example gives a config the render step accepts (examples are valid)."""
    env = dict(env_example(), PATH=os.environ["PATH"], PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "alertmanager.render", "--out", str(tmp_path / "am.yml")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines() + result.stderr.splitlines():
        for name in ("SMTP_PASSWORD", "TELEGRAM_BOT_TOKEN", "SMS_RELAY_TOKEN", "DISCORD_WEBHOOK_URL"):
            assert env[name] not in line, f"the render step logged {name}"
