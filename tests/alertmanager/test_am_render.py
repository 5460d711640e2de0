"""`python -m alertmanager.render`: every combination of channels gives a config that Debian's
amtool 0.25 accepts; a malformed value is one line and status 2, and nothing is written."""

from __future__ import annotations

import stat
import subprocess

import pytest
import yaml

from tests.alertmanager.am_stack import ALL_CHANNELS, render_config, run_render
from tests.support.processes import require_binary

CHANNELS = {
    "discord": ["DISCORD_WEBHOOK_URL"],
    "telegram": ["TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"],
    "email": ["SMTP_SMARTHOST", "SMTP_FROM", "SMTP_TO"],
    "sms": ["SMS_RELAY_URL", "SMS_RELAY_TOKEN"],
    "slack": ["SLACK_WEBHOOK_URL"],
    "deadmansswitch": ["DEADMANSSWITCH_URL"],
}


def _check_config(path) -> None:
    result = subprocess.run([require_binary("amtool"), "check-config", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def _receivers(path) -> dict[str, dict]:
    return {r["name"]: r for r in yaml.safe_load(path.read_text())["receivers"]}


def test_with_no_channel_the_config_is_valid_and_drops_alerts_on_purpose(tmp_path):
    rendered = render_config(tmp_path, {})
    _check_config(rendered.path)
    assert list(_receivers(rendered.path)) == ["blackhole"]
    assert "no integration on purpose" in rendered.config_text
    assert stat.S_IMODE(rendered.path.stat().st_mode) == 0o600


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_each_channel_alone(tmp_path, channel):
    env = {name: ALL_CHANNELS[name] for name in CHANNELS[channel]}
    rendered = render_config(tmp_path, env)
    _check_config(rendered.path)
    assert sorted(_receivers(rendered.path)) == sorted(["blackhole", channel])


def test_all_channels_and_secrets_only_in_the_0600_file(tmp_path):
    result = run_render(tmp_path / "alertmanager.yml", {**ALL_CHANNELS, "SMTP_USERNAME": "u",
                                                         "SMTP_PASSWORD": "smtp-secret"})
    assert result.returncode == 0, result.stderr
    path = tmp_path / "alertmanager.yml"
    _check_config(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    receivers = _receivers(path)
    assert receivers["discord"]["slack_configs"][0]["api_url"] == "https://discord.com/api/webhooks/1/token/slack"
    assert receivers["sms"]["webhook_configs"][0]["http_config"]["authorization"]["credentials"] == "relay-token"
    assert receivers["email"]["email_configs"][0]["auth_password"] == "smtp-secret"
    for secret in ("smtp-secret", "relay-token", ALL_CHANNELS["TELEGRAM_BOT_TOKEN"], "webhooks/1/token"):
        assert secret not in result.stdout + result.stderr


def test_templates_dir_is_referenced_and_links_written_beside_the_config(tmp_path, repo_root):
    templates = repo_root / "alertmanager" / "templates"
    result = run_render(tmp_path / "am.yml", {"GRAFANA_URL": "https://grafana.example"}, "--templates", str(templates))
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((tmp_path / "am.yml").read_text())
    assert config["templates"] == [f"{templates}/*.tmpl", "links.tmpl"]
    assert "https://grafana.example" in (tmp_path / "links.tmpl").read_text()
    assert not (tmp_path / "templates").exists()
    _check_config(tmp_path / "am.yml")


def test_runbook_links_need_a_base_url_else_the_path_is_shown(tmp_path):
    without = render_config(tmp_path / "a", {}).files["templates/links.tmpl"].read_text()
    assert 'template "telegram.trader.runbook.path"' in without
    with_base = render_config(tmp_path / "b", {"RUNBOOK_BASE_URL": "https://git.example/repo/blob/main"})
    links = with_base.files["templates/links.tmpl"].read_text()
    assert 'template "telegram.trader.runbook.link"' in links
    assert "https://git.example/repo/blob/main/{{ end }}" in links  # a trailing slash is added


def test_test_overrides_replace_every_interval(tmp_path):
    rendered = render_config(tmp_path, ALL_CHANNELS, "--group-wait", "1s", "--group-interval", "2s")
    route = yaml.safe_load(rendered.config_text)["route"]
    timed = [route, *route["routes"][:4]]
    assert {r["group_wait"] for r in timed} == {"1s"} and {r["group_interval"] for r in timed} == {"2s"}
    assert route["routes"][1]["repeat_interval"] == "1h"  # not overridden: the committed value
    _check_config(rendered.path)


@pytest.mark.parametrize("env, expected", [
    ({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "@mychannel"}, "TELEGRAM_CHAT_ID='@mychannel' is not a number"),
    ({"TELEGRAM_BOT_TOKEN": "123:abc"}, "Telegram is half configured: TELEGRAM_BOT_TOKEN set but TELEGRAM_CHAT_ID unset"),
    ({"TELEGRAM_BOT_TOKEN": "not-a-token", "TELEGRAM_CHAT_ID": "1"}, "TELEGRAM_BOT_TOKEN (value hidden"),
    ({"DISCORD_WEBHOOK_URL": "discord.com/api/webhooks/1/secret"}, "DISCORD_WEBHOOK_URL=(value hidden: it is a secret) is not a URL"),
    ({"GRAFANA_URL": "grafana:3000"}, "GRAFANA_URL='grafana:3000' is not a URL"),
    ({"SMTP_SMARTHOST": "smtp.gmail.com", "SMTP_FROM": "a@b.io", "SMTP_TO": "c@d.io"}, "SMTP_SMARTHOST='smtp.gmail.com' is not host:port"),
    ({"SMTP_SMARTHOST": "smtp.gmail.com:587", "SMTP_FROM": "a@b.io", "SMTP_TO": "c@d.io", "SMTP_REQUIRE_TLS": "yes"}, "SMTP_REQUIRE_TLS='yes' is not a boolean"),
    ({"SMTP_SMARTHOST": "smtp.gmail.com:587", "SMTP_FROM": "nobody", "SMTP_TO": "c@d.io"}, "SMTP_FROM='nobody' is not an e-mail address"),
    ({"SMS_RELAY_URL": "http://relay:9099"}, "SMS is half configured"),
    ({"DEADMANSSWITCH_URL": "ftp://x/ping"}, "DEADMANSSWITCH_URL=(value hidden"),
])
def test_a_malformed_value_is_one_line_status_2_and_nothing_written(tmp_path, env, expected):
    out = tmp_path / "alertmanager.yml"
    result = run_render(out, env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert "secret" not in result.stderr.replace("it is a secret", "")  # the value itself is never shown
    assert list(tmp_path.iterdir()) == []


def test_a_bad_value_keeps_the_previous_config(tmp_path):
    rendered = render_config(tmp_path, ALL_CHANNELS)
    before = rendered.path.read_text()
    assert run_render(rendered.path, {"TELEGRAM_CHAT_ID": "x", "TELEGRAM_BOT_TOKEN": "1:a"}).returncode == 2
    assert rendered.path.read_text() == before
