"""`amtool config routes test` against the config rendered with every channel set: each
severity and category reaches exactly the channels docs/architecture.md promises."""

from __future__ import annotations

import subprocess

import pytest

from tests.alertmanager.am_stack import ALL_CHANNELS, render_config
from tests.support.processes import require_binary

CATEGORIES = ("trading", "risk", "execution", "market", "system", "meta")
EXPECTED = {
    "critical": "sms,telegram,discord,email,slack",
    "warning": "discord,telegram,slack",
    "info": "discord",
}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return render_config(tmp_path_factory.mktemp("routes"), ALL_CHANNELS).path


def _route(config, *labels: str) -> str:
    result = subprocess.run([require_binary("amtool"), "config", "routes", "test",
                             f"--config.file={config}", *labels], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("severity", sorted(EXPECTED))
def test_each_severity_and_category_reaches_its_channels(config, severity):
    for category in CATEGORIES:
        got = _route(config, "alertname=TraderSomething", f"severity={severity}", f"category={category}",
                     "account=main")
        assert got == EXPECTED[severity], f"severity={severity} category={category}"


def test_watchdog_pings_only_the_dead_mans_switch(config):
    assert _route(config, "alertname=Watchdog", "severity=none", "category=meta") == "deadmansswitch"


def test_other_severity_none_alerts_are_dropped(config):
    assert _route(config, "alertname=SomeHeartbeat", "severity=none", "category=meta") == "blackhole"


def test_an_alert_without_a_known_severity_is_not_lost(config):
    # A rule written without severity (or with a typo) still reaches the warning channels.
    assert _route(config, "alertname=TraderTypo", "severity=crit", "category=risk") == EXPECTED["warning"]
    assert _route(config, "alertname=TraderNoSeverity") == EXPECTED["warning"]


def test_a_missing_channel_is_left_out_and_the_others_still_get_the_alert(tmp_path):
    without_telegram = {k: v for k, v in ALL_CHANNELS.items() if not k.startswith("TELEGRAM")}
    config = render_config(tmp_path, without_telegram).path
    assert _route(config, "severity=critical", "alertname=X") == "sms,discord,email,slack"
    assert _route(config, "severity=warning", "alertname=X") == "discord,slack"
