"""The doctor's two outputs: one screen of text, or JSON for scripts.

    >>> found = Findings("Loki", "http://loki:3100", required=False)
    >>> found.ok("ready", "answers 200 on /ready")
    >>> print(render_text([found], now="2026-01-01 00:00 UTC"))
    Stack doctor, 2026-01-01 00:00 UTC
    <BLANKLINE>
    Loki  http://loki:3100  (not needed for alerts)
      ✔ ready: answers 200 on /ready
    <BLANKLINE>
    Alerts can reach a person: yes.
"""

from __future__ import annotations

import json

from doctor.result import Findings, alerting_works

__all__ = ["render_text", "render_json", "OK", "FAIL"]

OK, FAIL = "✔", "✘"


def _verdict(services: list[Findings]) -> str:
    checks = [c for s in services for c in s.checks]
    required = [f"{c.service} {c.name}" for c in checks if c.required and not c.ok]
    # Outside the alerting path: a whole optional service, or one check of a required one.
    optional = [s.service for s in services if not s.required and not all(c.ok for c in s.checks)]
    optional += [f"{c.service} {c.name}" for s in services if s.required for c in s.checks
                 if not c.required and not c.ok]
    tail = f" Outside the alerting path, failing: {', '.join(optional)}." if optional else ""
    if required:
        return f"Alerts can reach a person: NO. Failing: {', '.join(required)}.{tail}"
    return f"Alerts can reach a person: yes.{tail}"


def render_text(services: list[Findings], *, now: str) -> str:
    lines = [f"Stack doctor, {now}"]
    for service in services:
        note = "" if service.required else "  (not needed for alerts)"
        lines += ["", f"{service.service}  {service.url}{note}"]
        for check in service.checks:
            optional = " (not needed for alerts)" if service.required and not check.required and not check.ok else ""
            lines.append(f"  {OK if check.ok else FAIL} {check.name}: {check.detail}{optional}")
            if not check.ok:
                lines.append(f"      cause: {check.cause}")
                lines.append(f"      fix:   {check.fix}")
    lines += ["", _verdict(services)]
    return "\n".join(lines)


def render_json(services: list[Findings], *, now: str) -> str:
    checks = [c for s in services for c in s.checks]
    return json.dumps({
        "time": now,
        "alerts_reach_a_person": alerting_works(checks),
        "services": [{"service": s.service, "url": s.url, "required": s.required,
                      "checks": [c.as_dict() for c in s.checks]} for s in services],
    }, indent=2, ensure_ascii=False)
