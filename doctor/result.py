"""What one check found: a tiny frozen type, and the collector each service's checks fill.

A check is *required* when alerts cannot reach a person without it: Prometheus evaluating the
rules on the trader's series and handing them to Alertmanager, Alertmanager routing them to a
configured channel, and (with ``--notify``) each channel delivering. Grafana, Loki, Alloy and the
trader's own readiness are shown with the same ✔/✘ but never change the exit code: dashboards and
logs are how a person looks closer, not how they are woken up.

    >>> found = Findings("Loki", "http://localhost:3100", required=False)
    >>> found.ok("ready", "answers 200 on /ready")
    >>> found.fail("trader logs", "no trader line in 5 min", cause="Alloy ships nothing",
    ...            fix="docker compose logs alloy")
    >>> [(c.name, c.ok, c.required) for c in found.checks]
    [('ready', True, False), ('trader logs', False, False)]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Check", "Findings", "alerting_works"]


@dataclass(frozen=True)
class Check:
    service: str  # "Prometheus", "Alertmanager", ..., "Notify"
    name: str  # what was checked, a few words: "ready", "rules", "target loki"
    ok: bool
    detail: str  # one line: what was seen
    required: bool  # needed for alerts to reach a person (decides the exit code)
    cause: str = ""  # for a failure: the likely cause
    fix: str = ""  # for a failure: the command (or edit) that fixes it

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Findings:
    """The checks of one service, in the order they ran."""

    service: str
    url: str
    required: bool  # the default for this service's checks
    checks: list[Check] = field(default_factory=list)

    def ok(self, name: str, detail: str, *, required: bool | None = None) -> None:
        self.checks.append(Check(self.service, name, True, detail, self._required(required)))

    def fail(self, name: str, detail: str, *, cause: str, fix: str, required: bool | None = None) -> None:
        self.checks.append(Check(self.service, name, False, detail, self._required(required), cause, fix))

    def _required(self, required: bool | None) -> bool:
        return self.required if required is None else required


def alerting_works(checks: list[Check]) -> bool:
    """True when no required check failed: the exit code is 0 exactly then."""
    return all(check.ok for check in checks if check.required)
