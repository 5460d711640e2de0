"""Alloy: ready (its configuration loaded) and healthy (every component running).

Endpoints (https://grafana.com/docs/alloy/latest/reference/http/): ``/-/ready`` answers 200
"Alloy is ready." once the configuration is loaded, else 503; ``/-/healthy`` answers 200 when
every component is healthy, else 500 naming the unhealthy ones. Not required for alerts.

    >>> from doctor.http import HttpClient
    >>> check(HttpClient(timeout=0.5), "http://127.0.0.1:9").checks[0].name
    'reachable'
"""

from __future__ import annotations

from doctor.checks import ready_step, run_steps, service_fix
from doctor.http import HttpClient
from doctor.result import Findings

__all__ = ["check"]


def check(http: HttpClient, url: str) -> Findings:
    found = Findings("Alloy", url, required=False)
    api = url.rstrip("/")

    def healthy() -> None:
        response = http.get(f"{api}/-/healthy")
        if response.status_code == 200:
            found.ok("components", response.text.strip() or "all healthy")
        else:
            found.fail("components", f"/-/healthy answered HTTP {response.status_code}: "
                       f"{' '.join(response.text.split())[:160]}",
                       cause="a component of the pipeline fails (often: the Docker socket is not readable, or Loki "
                             "refuses the pushes)", fix="open http://localhost:12345 and " + service_fix("alloy"))

    ready = ready_step(http, found, "/-/ready", compose_service="alloy", cause="Alloy could not load loki/config.alloy")
    return run_steps(found, [ready, ("components", healthy)], compose_service="alloy")
