"""The simulation reads alertmanager.yml as Alertmanager does: routes checked against amtool,
channels from integration types, inherited timing, ``group_by: ['...']`` and legacy matchers."""

from __future__ import annotations

import subprocess

import pytest

from tests.alertmanager.am_stack import ALL_CHANNELS, render_config
from tests.support.processes import require_binary
from tuning.am_config import load_alertmanager_config

LABEL_SETS = [
    {"alertname": "TraderDrawdownHigh", "severity": "critical", "category": "risk", "account": "main"},
    {"alertname": "TraderMarketDataStale", "severity": "warning", "category": "market", "exchange": "binance"},
    {"alertname": "TraderMarketAnomalyRateHigh", "severity": "info", "category": "market"},
    {"alertname": "Watchdog", "severity": "none", "category": "meta"},
    {"alertname": "SomethingElse", "severity": "none", "category": "meta"},
    {"alertname": "RuleWithoutSeverity", "category": "system"},
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_config(tmp_path_factory.mktemp("am-config"), ALL_CHANNELS)


@pytest.mark.parametrize("labels", LABEL_SETS, ids=[ls["alertname"] for ls in LABEL_SETS])
def test_routes_match_what_amtool_says(rendered, labels):
    done = subprocess.run([require_binary("amtool"), "config", "routes", "test", f"--config.file={rendered.path}",
                           *[f"{k}={v}" for k, v in labels.items()]], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    expected = done.stdout.strip().split(",")
    config = load_alertmanager_config(rendered.path)
    assert [route.receiver for route in config.route.match(labels)] == expected


def test_channels_come_from_integration_types(rendered):
    config = load_alertmanager_config(rendered.path)
    channels = {name: [i.channel for i in integrations] for name, integrations in config.receivers.items()}
    assert channels == {"blackhole": [], "sms": ["sms"], "telegram": ["telegram"], "discord": ["discord"],
                        "email": ["email"], "slack": ["slack"], "deadmansswitch": ["webhook"]}
    resolved = {i.receiver: i.send_resolved for integrations in config.receivers.values() for i in integrations}
    assert resolved == {"sms": False, "telegram": True, "discord": True, "email": True, "slack": True,
                        "deadmansswitch": False}


def test_children_inherit_timing_and_grouping(rendered):
    config = load_alertmanager_config(rendered.path)
    (critical_sms, *_rest) = config.route.match(LABEL_SETS[0])
    assert (critical_sms.group_wait, critical_sms.group_interval, critical_sms.repeat_interval) == (10, 120, 3600)
    assert critical_sms.group_by == ("alertname", "trader", "account", "category")
    assert critical_sms.group_labels(LABEL_SETS[0]) == (("account", "main"), ("alertname", "TraderDrawdownHigh"),
                                                        ("category", "risk"))


def test_names_do_not_decide_channels_and_all_labels_group(tmp_path):
    # Receivers named after nothing in particular: the integration type says what each one is.
    path = tmp_path / "alertmanager.yml"
    path.write_text("""\
route:
  receiver: pager
  group_by: ['...']
  routes:
    - match_re: {severity: "warn.*"}
      receiver: chat
      group_wait: 5s
receivers:
  - name: pager
    webhook_configs: [{url: "http://relay.internal:9099/alert"}]
  - name: chat
    discord_configs: [{webhook_url: "https://discord.com/api/webhooks/1/x"}]
    email_configs: [{to: "ops@example.com"}]
""")
    config = load_alertmanager_config(path, sms_relay_url="http://relay.internal:9099/alert")
    assert [i.channel for i in config.receivers["pager"]] == ["sms"]
    assert [(i.channel, i.send_resolved) for i in config.receivers["chat"]] == [("discord", True), ("email", False)]
    labels = {"alertname": "A", "severity": "warning", "instance": "x"}
    (route,) = config.route.match(labels)
    assert route.receiver == "chat" and route.group_wait == 5 and route.group_interval == 300
    assert route.group_labels(labels) == tuple(sorted(labels.items()))
