"""Render the Alertmanager config and start the SMS relay the way compose does, for tests.

    rendered = render_config(tmp_path, fakes.render_env(...), "--group-wait", "1s")
    am = start_alertmanager(rendered.config_text, files=rendered.files)
    relay = start_sms_relay(tmp_path, fakes.relay_env("token"))
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.alertmanager.am_fakes import TELEGRAM_CHAT_ID, TELEGRAM_TOKEN
from tests.support.ports import free_port
from tests.support.processes import ManagedProcess
from tests.support.trader import REPO_ROOT

__all__ = ["ALL_CHANNELS", "Rendered", "run_render", "render_config", "SmsRelayProcess", "start_sms_relay", "alert",
           "FAST_TIMING"]

# Every channel set, to addresses that are never contacted (routing and render tests).
ALL_CHANNELS = {
    "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/token",
    "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_CHAT_ID": TELEGRAM_CHAT_ID,
    "SMTP_SMARTHOST": "smtp.example.com:587", "SMTP_FROM": "am@example.com", "SMTP_TO": "oncall@example.com",
    "SMS_RELAY_URL": "http://sms-relay:9099/alert", "SMS_RELAY_TOKEN": "relay-token",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
    "DEADMANSSWITCH_URL": "https://hc-ping.com/uuid",
}

# Test timing: a notification within ~1 s, group updates every 2 s, no reminders during a test.
FAST_TIMING = ("--group-wait", "1s", "--group-interval", "2s", "--repeat-interval", "1h")


def _clean_env(env: dict[str, str]) -> dict[str, str]:
    """Only PATH and the given variables: the developer's own channel variables must not leak in."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}


def run_render(out: Path, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alertmanager.render", "--out", str(out), *flags],
                          env=_clean_env(env), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


@dataclass
class Rendered:
    path: Path
    config_text: str
    files: dict[str, Path]  # relative name -> file, for start_alertmanager(files=...)


def render_config(workdir: Path, env: dict[str, str], *flags: str) -> Rendered:
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "alertmanager.yml"
    result = run_render(out, env, *flags)
    assert result.returncode == 0, f"render failed ({result.returncode}): {result.stderr}"
    files = {f"templates/{p.name}": p for p in sorted((workdir / "templates").glob("*.tmpl"))}
    return Rendered(out, out.read_text(), files)


class SmsRelayProcess:
    def __init__(self, workdir: Path, env: dict[str, str], *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            "sms-relay", [sys.executable, "-m", "alertmanager.sms", "--host", "127.0.0.1",
                          "--port", str(self.port), *flags],
            workdir / f"sms-relay-{self.port}.log", cwd=REPO_ROOT, env=_clean_env(env))
        self.process.wait_ready(f"{self.url}/healthz")

    def stop(self) -> None:
        self.process.stop()


def start_sms_relay(workdir: Path, env: dict[str, str], *flags: str) -> SmsRelayProcess:
    return SmsRelayProcess(workdir, env, *flags)


def alert(name: str, severity: str, category: str = "risk", account: str = "main", *,
          resolved: bool = False, **labels_and_annotations: str) -> dict:
    """An alert for POST /api/v2/alerts shaped like our Prometheus rules' alerts."""
    labels = {"alertname": name, "severity": severity, "category": category}
    if account:
        labels["account"] = account
    annotations = {
        "summary": f"{name} on {account}",
        "description": f"{name}: value 12.4% above the 10% limit for {account}",
        "runbook_url": f"docs/runbooks/{name}.md",
        "dashboard_url": "/d/trader-risk?viewPanel=4",
    }
    for key, value in labels_and_annotations.items():
        (annotations if key in annotations else labels)[key] = value
    body = {"labels": labels, "annotations": annotations,
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))}
    if resolved:
        body["endsAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    return body
