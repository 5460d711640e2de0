"""The real trader (``python -m trader``) as a child process with its metrics on a free port."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

from .ports import free_port
from .processes import ManagedProcess

__all__ = ["TraderProcess", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]


class TraderProcess:
    def __init__(self, workdir: Path, *cli_args: str, ready_timeout: float = 30.0, port: int | None = None) -> None:
        """``--state-dir`` defaults to ``workdir/state`` (never the checkout's ./state, which
        traders started side by side would share); ``port``: a restart on the same target."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port if port is not None else free_port()
        self.metrics_url = f"http://127.0.0.1:{self.port}/metrics"
        self.base_url = f"http://127.0.0.1:{self.port}"
        state = [] if "--state-dir" in cli_args else ["--state-dir", str(workdir / "state")]
        self.process = ManagedProcess(
            "trader", [sys.executable, "-m", "trader", *cli_args, *state, "--metrics-port", str(self.port)],
            workdir / f"trader-{self.port}.log", cwd=REPO_ROOT,
        )
        self.process.wait_ready(f"{self.base_url}/healthz", timeout=ready_timeout)

    def scrape(self, accept: str | None = None) -> str:
        headers = {"Accept": accept} if accept else {}
        response = requests.get(self.metrics_url, headers=headers, timeout=10)
        response.raise_for_status()
        return response.text

    def log_lines(self) -> list[str]:
        return self.process.log_text().splitlines()

    def stop(self) -> int | None:
        return self.process.stop()
