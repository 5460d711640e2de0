"""One module per checked service; each exposes ``check(http, url, ...) -> Findings``.

``run_steps`` is what they share: run the service's steps in order, turn a ``BadAnswer`` into one
failed check and go on, and stop at the first ``Unreachable`` with one line naming the service
and its URL (the other steps would only repeat it).
"""

from __future__ import annotations

from typing import Callable, Iterable

from doctor.http import BadAnswer, HttpClient, Unreachable
from doctor.result import Findings

__all__ = ["Step", "run_steps", "service_fix", "ready_step"]

Step = tuple[str, Callable[[], None]]  # (check name, what it does: calls findings.ok/fail)


def service_fix(compose_service: str) -> str:
    """The first thing to run when a compose service misbehaves."""
    return f"docker compose logs --tail=50 {compose_service}"


def run_steps(findings: Findings, steps: Iterable[Step], *, compose_service: str) -> Findings:
    for name, step in steps:
        try:
            step()
        except Unreachable as error:
            findings.fail("reachable", f"cannot reach {findings.service} at {findings.url}: {error.reason}",
                          cause=f"the {compose_service} container is not running, still starting, or not on this URL",
                          fix=f"docker compose up -d {compose_service}; {service_fix(compose_service)}")
            break
        except BadAnswer as error:
            findings.fail(name, str(error), cause=f"{findings.service} answered something its API does not document",
                          fix=service_fix(compose_service))
    return findings


def ready_step(http: HttpClient, found: Findings, path: str, *, cause: str, compose_service: str) -> Step:
    """The "ready" check every service has: ``GET path`` answers 200."""
    def ready() -> None:
        response = http.get(found.url.rstrip("/") + path)
        if response.status_code == 200:
            found.ok("ready", f"answers 200 on {path}")
        else:
            found.fail("ready", f"{path} answered HTTP {response.status_code}: {' '.join(response.text.split())[:120]}",
                       cause=cause, fix=service_fix(compose_service))
    return "ready", ready
