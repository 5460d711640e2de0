"""The doctor's parts on their own: the verdict from Alertmanager's counters, the rounds, the
channels read from a real loaded config, the test route in the rendered config (amtool), the CLI's
bad-flag errors, and the facts it copies from the repository (checked against their source)."""

from __future__ import annotations

import re
import subprocess

import pytest
import requests
import yaml

from alertmanager.routing import SEVERITY_CHANNELS, TEST_ALERTNAME
from doctor.channels import Channel, channels_of, probe_receivers
from doctor.checks import grafana, loki, prometheus
from doctor.notify import CHANNEL_FIX, Counters, judge, plan_rounds
from tests.alertmanager.am_stack import ALL_CHANNELS, render_config
from tests.compose.compose_stack import env_example, load_stack
from tests.doctor.doctor_stack import run_doctor
from tests.support.processes import require_binary
from tests.support.trader import REPO_ROOT

DISCORD = Channel("discord", (("slack", 1),))


# --- the verdict --------------------------------------------------------------------------


@pytest.mark.parametrize("delta, final, expected", [
    (Counters({"slack": 1}, {}, {"slack": 1}, {}), False, "delivered"),
    (Counters({"slack": 1}, {("slack", "serverError"): 1}, {"slack": 6}, {"slack": 6}), False, "failed"),
    # Alertmanager starts the next flush the moment it gives up: two attempts, still a failure.
    (Counters({"slack": 2}, {("slack", "serverError"): 1}, {"slack": 8}, {"slack": 8}), False, "failed"),
    (Counters({"slack": 2}, {}, {"slack": 2}, {}), False, "unclear"),
    (Counters({"slack": 1}, {}, {"slack": 3}, {"slack": 3}), False, None),  # retrying: wait
    (Counters({"slack": 1}, {}, {"slack": 3}, {"slack": 3}), True, "failed"),
    (Counters({}, {}, {}, {}), False, None),
    (Counters({}, {}, {}, {}), True, "failed"),
    (Counters({"webhook": 1}, {}, {"webhook": 1}, {}), True, "failed"),  # another integration did it
], ids=["delivered", "gave-up", "gave-up-next-flush-started", "someone-else", "retrying", "still-retrying-at-deadline",
        "not-yet", "never-tried", "wrong-integration"])
def test_the_verdict_reads_the_counters_of_the_channels_own_integration(delta, final, expected):
    verdict = judge(DISCORD, delta, final=final)
    assert (verdict.status if verdict else None) == expected


def test_the_counters_are_read_from_alertmanagers_own_metrics(stack):
    counters = Counters.parse(requests.get(f"{stack.alertmanager.url}/metrics", timeout=5).text)
    # Alertmanager exposes every integration it knows at zero, so a diff sees the first send.
    assert {"slack", "webhook", "telegram", "email", "discord"} <= set(counters.notifications)
    assert ("slack", "serverError") in counters.failed and "slack" in counters.requests_failed


def test_rounds_never_give_one_integration_to_two_channels(stack):
    original = requests.get(f"{stack.alertmanager.url}/api/v2/status", timeout=5).json()["config"]["original"]
    channels = channels_of(original)
    assert [c.name for c in channels] == ["sms", "telegram", "discord", "email", "slack", "deadmansswitch"]
    rounds = plan_rounds(channels)
    assert sorted(n for r in rounds for n in r) == sorted(c.name for c in channels)
    kinds = {c.name: {k for k, _ in c.integrations} for c in channels}
    for names in rounds:
        used = [k for name in names for k in kinds[name]]
        assert len(used) == len(set(used)), names
    assert len(rounds) == 2, "Discord and Slack share 'slack', SMS and the dead man's switch 'webhook'"
    # The loaded config Alertmanager answers with hides every secret; the doctor reads only names.
    assert "<secret>" in original and "discord-token" not in original
    assert probe_receivers(original) == {c.name: c.name for c in channels}


# --- the test route ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_config(tmp_path_factory.mktemp("routes"), ALL_CHANNELS).path


def _route(config, *labels: str) -> str:
    result = subprocess.run([require_binary("amtool"), "config", "routes", "test", f"--config.file={config}",
                             *labels], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("channel", sorted(CHANNEL_FIX))
def test_the_test_alert_reaches_only_the_channel_it_names(rendered, channel):
    labels = [f"alertname={TEST_ALERTNAME}", "severity=test", "category=meta", "run=1"]
    assert _route(rendered, *labels, f"channel={channel}") == channel
    assert _route(rendered, *labels) == "blackhole", "a test alert without a channel pages nobody"


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("flags, message", [
    (["--prometheus=prometheus:9090"], "doctor: error: --prometheus 'prometheus:9090' is not a URL: expected e.g."),
    (["--timeout=nan"], "doctor: error: --timeout nan: expected 0.1 to 120 seconds"),
    (["--notify-timeout=1"], "doctor: error: --notify-timeout 1.0: expected 5 to 600 seconds"),
])
def test_a_bad_flag_is_one_line_and_exit_2(flags, message):
    result = run_doctor(*flags)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


# --- facts copied from the repository -------------------------------------------------------


def test_the_expected_dashboards_datasources_and_home_are_the_provisioned_ones():
    dashboards = sorted(p.stem for p in (REPO_ROOT / "grafana" / "dashboards").glob("*.json"))
    assert list(grafana.EXPECTED_DASHBOARDS) == dashboards
    provisioned = yaml.safe_load((REPO_ROOT / "grafana/provisioning/datasources/datasources.yml").read_text())
    assert set(grafana.EXPECTED_DATASOURCES) == {d["uid"] for d in provisioned["datasources"]}
    assert {d["uid"]: d["type"] for d in provisioned["datasources"]} == {u: u for u in grafana.EXPECTED_DATASOURCES}
    env = load_stack().services["grafana"]["environment"]
    assert env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].endswith(f"/{grafana.HOME_DASHBOARD}.json")
    assert env["GF_SECURITY_ADMIN_USER"] == grafana.ADMIN_USER


def test_the_trader_stream_is_the_one_alloy_writes_and_the_logs_dashboard_reads():
    alloy = (REPO_ROOT / "loki" / "config.alloy").read_text()
    assert re.search(r'com_docker_compose_service"\]\s*target_label\s*=\s*"service"', alloy)
    assert loki.TRADER_STREAM == '{service="trader"}' and "trader" in load_stack().services
    logs_dashboard = (REPO_ROOT / "grafana" / "dashboards_src" / "logs.dashboard.py").read_text()
    assert 'SELECTOR = \'{service="trader",' in logs_dashboard


def test_the_jobs_alerts_need_are_jobs_prometheus_scrapes():
    config = yaml.safe_load((REPO_ROOT / "prometheus" / "prometheus.yml").read_text())
    assert prometheus.ALERTING_JOBS <= {job["job_name"] for job in config["scrape_configs"]}


def test_every_channel_has_a_fix_naming_variables_env_example_documents():
    channels = {c for chans in SEVERITY_CHANNELS.values() for c in chans} | {"deadmansswitch"}
    assert set(CHANNEL_FIX) == channels
    documented = set(env_example())
    for channel, fix in CHANNEL_FIX.items():
        named = set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", fix))
        assert named and named <= documented, f"{channel}: {sorted(named - documented)} not in .env.example"
