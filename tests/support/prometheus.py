"""The real ``prometheus`` binary, on a free port with a temporary data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from .ports import free_port
from .processes import ManagedProcess, require_binary, wait_until, write_workdir

__all__ = ["PrometheusServer"]


class PrometheusServer:
    def __init__(self, workdir: Path, config_yaml: str, files: dict[str, str | Path] | None = None,
                 flags: tuple[str, ...] = ()) -> None:
        """Write ``config_yaml`` and ``files`` (relative name -> text or source path) into
        ``workdir`` and start Prometheus there; relative paths in the config resolve in ``workdir``.
        ``flags`` are more command-line flags (e.g. a shorter ``--rules.alert.resend-delay``)."""
        config = write_workdir(workdir, "prometheus.yml", config_yaml, files)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess("prometheus", [
            require_binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
            *flags,
        ], workdir / "prometheus.log", cwd=workdir)
        self.process.wait_ready(f"{self.url}/-/ready")

    def _get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}{path}", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus {path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant-vector result of ``expr`` (raises on a PromQL error)."""
        data = self._get("/api/v1/query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [data["result"]]

    def alerts(self) -> list[dict]:
        return self._get("/api/v1/alerts")["alerts"]

    def firing(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.alerts() if a["state"] == "firing"}

    def targets(self) -> list[dict]:
        return self._get("/api/v1/targets")["activeTargets"]

    def rules(self) -> list[dict]:
        return self._get("/api/v1/rules")["groups"]

    def wait_until(self, check, timeout: float, what: str) -> object:
        return wait_until(check, timeout, what, interval=1.0)

    def reload(self) -> None:
        requests.post(f"{self.url}/-/reload", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.process.stop()


def stack_config(trader_targets: list[str] | dict[str, str], alertmanager: str | None = None) -> tuple[str, dict[str, Path]]:
    """The committed ``prometheus/prometheus.yml`` and rules, pointed at a test's traders.

    Returns ``(config_yaml, files)`` for ``start_prometheus``: the trader job (with its committed
    intervals and relabelling) scrapes ``trader_targets`` (a list: each trader is named after its
    address; a dict: trader name -> target, given as the ``trader`` label as prometheus.yml does),
    the rules are the committed rule files, and alerts go to
    ``alertmanager`` ("127.0.0.1:port") or nowhere. The other jobs name compose services that a
    test does not run, so they are left out.
    """
    import yaml

    from .trader import REPO_ROOT

    config = yaml.safe_load((REPO_ROOT / "prometheus" / "prometheus.yml").read_text())
    trader_job = next(job for job in config["scrape_configs"] if job["job_name"] == "trader")
    if isinstance(trader_targets, dict):
        trader_job["static_configs"] = [{"targets": [target], "labels": {"trader": name}}
                                        for name, target in trader_targets.items()]
    else:
        trader_job["static_configs"] = [{"targets": list(trader_targets)}]
    config["scrape_configs"] = [trader_job]
    config["rule_files"] = ["rules/*.yml"]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    else:
        config.pop("alerting", None)
    rules = {f"rules/{path.name}": path for path in sorted((REPO_ROOT / "prometheus" / "rules").glob("*.yml"))}
    return yaml.safe_dump(config, sort_keys=False), rules
