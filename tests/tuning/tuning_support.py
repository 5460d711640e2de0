"""Helpers for the tuning tests: run the CLI, write known series as OpenMetrics, backfill a TSDB.

    result = run_tuning("TraderDrawdownHigh", "--threshold", "0.1", "--prometheus", url)
    write_openmetrics(path, {"trader_drawdown_ratio": ("gauge", {'{account="main"}': [(t, 0.05), ...]})})
    backfill(path, workdir / "data")      # promtool tsdb create-blocks-from openmetrics
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

from tests.support.processes import require_binary
from tests.support.trader import REPO_ROOT

__all__ = ["run_tuning", "tuning_json", "write_openmetrics", "backfill", "tool_env", "RecordingWebhook", "REPO_ROOT"]


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment (no channel variables of the developer's), with the pinned binaries."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PROMTOOL": require_binary("promtool"), "PROMETHEUS": require_binary("prometheus")}
    env.update(extra or {})
    return env


def run_tuning(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuning", *args], cwd=REPO_ROOT, env=tool_env(env),
                          capture_output=True, text=True, timeout=timeout)


def tuning_json(*args: str, env: Mapping[str, str] | None = None) -> dict:
    result = run_tuning(*args, "--json", env=env)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def write_openmetrics(path: Path, families: Mapping[str, tuple[str, Mapping[str, Sequence[tuple[float, float]]]]]) -> Path:
    """families: name -> (type, {label block: [(unix seconds, value)]}); one # EOF at the end."""
    lines = []
    for name, (kind, series) in families.items():
        lines.append(f"# TYPE {name} {kind}")
        suffix = "_total" if kind == "counter" else ""
        for labels, points in series.items():
            lines.extend(f"{name}{suffix}{labels} {value!r} {ts:.3f}" for ts, value in points)
    path.write_text("\n".join(lines) + "\n# EOF\n")
    return path


def backfill(openmetrics: Path, data_dir: Path) -> None:
    done = subprocess.run([require_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                           str(openmetrics), str(data_dir)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


class RecordingWebhook:
    """A webhook receiver on 127.0.0.1 that answers ``200 ok`` as plain text and records each POST.

    Slack's incoming webhooks and Discord's Slack-compatible endpoint both answer a plain-text
    ``ok`` (https://api.slack.com/messaging/webhooks, "Execute Slack-Compatible Webhook" in
    https://discord.com/developers/docs/resources/webhook). Alertmanager 0.28 reads a JSON
    content type as a JSON body, so a stand-in must not label that ``ok`` as JSON or every send
    counts as failed and is retried. Also stands in for the SMS relay's webhook (any 2xx).
    """

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner.bodies.append(json.loads(body or b"null"))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def received(self) -> list[dict]:
        with self._lock:
            return list(self.bodies)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
