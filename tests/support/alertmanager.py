"""The real ``prometheus-alertmanager`` binary, on a free port with a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import requests

from .ports import free_port
from .processes import ManagedProcess, require_binary, wait_until, write_workdir

__all__ = ["AlertmanagerServer"]


class AlertmanagerServer:
    def __init__(self, workdir: Path, config_yaml: str, files: dict[str, str | Path] | None = None) -> None:
        config = write_workdir(workdir, "alertmanager.yml", config_yaml, files)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess("alertmanager", [
            require_binary("alertmanager"),
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",  # no gossip port: one instance per test
            "--log.level=warn",
        ], workdir / "alertmanager.log", cwd=workdir)
        self.process.wait_ready(f"{self.url}/-/ready")

    def post_alerts(self, alerts: list[dict]) -> None:
        requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()

    def alerts(self) -> list[dict]:
        response = requests.get(f"{self.url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_until(self, check, timeout: float, what: str) -> object:
        return wait_until(check, timeout, what, interval=0.5)

    def stop(self) -> None:
        self.process.stop()
