"""A child process with its output in a file, a readiness probe and a guaranteed stop.

Every process a test starts is a ``ManagedProcess``; ``tests/conftest.py`` attaches the tail of
the logs of the processes a failing test started to its report.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

import requests

__all__ = ["ManagedProcess", "require_binary", "wait_until", "write_workdir", "LIVE_PROCESSES"]

# Processes started and not yet stopped, so a failing test can show their logs.
LIVE_PROCESSES: list["ManagedProcess"] = []


# tools/monitoring_binaries.py links the versions the compose file pins here.
TOOLS_BIN = Path(__file__).resolve().parents[2] / ".tools" / "bin"


def require_binary(name: str) -> str:
    """The path of ``name`` (``prometheus``, ``promtool``, ``alertmanager``, ``amtool``) in
    ``.tools/bin``, the versions the compose file pins, or a loud failure (never a skip)."""
    path = TOOLS_BIN / name
    if not path.exists():
        raise RuntimeError(
            f"{path} is missing: run the README's test command (./run-tests.sh), which fetches the "
            "Prometheus and Alertmanager versions docker-compose.yml pins"
        )
    return str(path)


def write_workdir(workdir: Path, config_name: str, config_text: str,
                  files: dict[str, str | Path] | None = None) -> Path:
    """Lay out a service's working directory: its config, plus ``files`` (relative name -> text,
    or a ``Path`` to copy), so relative paths in the config resolve there. Returns the config."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content.read_text() if isinstance(content, Path) else content)
    config = workdir / config_name
    config.write_text(config_text)
    return config


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.25) -> object:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # the service may not be up yet
            last_error = error
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


class ManagedProcess:
    def __init__(self, name: str, argv: Sequence[str], log_path: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")
        self._process = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True,
        )
        LIVE_PROCESSES.append(self)

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def wait_ready(self, url: str, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self._process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self._process.returncode}:\n{self.log_tail()}")
            return requests.get(url, timeout=2).status_code == 200

        try:
            wait_until(ready, timeout, f"{self.name} to answer 200 on {url}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {self.name} log ---\n{self.log_tail()}") from None

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def signal(self, signum: int) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the process (SIGTERM, then SIGKILL of its whole group) and return its exit code."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(5)
        self._log.close()
        if self in LIVE_PROCESSES:
            LIVE_PROCESSES.remove(self)
        return self._process.returncode
