"""The compose file as the tests read it: loaded, interpolated like `docker compose` does.

    >>> stack = load_stack()
    >>> stack.services["grafana"]["ports"]
    ['127.0.0.1:3000:3000']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["REPO", "Stack", "load_stack", "interpolate", "ONE_SHOT", "TOOLS", "env_example"]

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` rules."""

    def replace(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if op in (":-", ":?") and not current:
            if op == ":?":
                raise ValueError(f"required variable {name} is missing a value: {arg}")
            return arg
        if op in ("-", "?") and current is None:
            if op == "?":
                raise ValueError(f"required variable {name} is missing: {arg}")
            return arg
        return current or ""

    return _VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def _walk(node, env):
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_walk(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _walk(value, env) for key, value in node.items()}
    return node


@dataclass(frozen=True)
class Stack:
    raw: dict  # as written (variables not replaced)
    resolved: dict  # as compose runs it with `env`

    @property
    def services(self) -> dict[str, dict]:
        return self.resolved["services"]

    def long_running(self) -> list[str]:
        return [name for name, s in self.services.items() if s.get("restart") != "no" and name not in TOOLS]

    def one_shot(self) -> list[str]:
        return [name for name, s in self.services.items() if s.get("restart") == "no" and name not in TOOLS]


# One-shot steps: they run, finish and are waited for with service_completed_successfully.
ONE_SHOT = {"stack-init", "alertmanager-config", "healthcheck-tools"}
# Tools run by hand (`docker compose run --rm <tool>`), behind the "tools" profile: `up` never
# starts them and nothing waits for them.
TOOLS = {"doctor"}


def load_stack(env: dict[str, str] | None = None) -> Stack:
    """The compose file with `env` (default: none, i.e. no .env and a clean shell)."""
    assert COMPOSE_FILE.is_file(), f"missing {COMPOSE_FILE}"
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return Stack(raw=raw, resolved=_walk(raw, env or {}))


def env_example() -> dict[str, str]:
    """Variables documented in .env.example (commented-out examples included) and their examples."""
    documented = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            documented[match.group(1)] = match.group(2).strip().strip('"')
    return documented
