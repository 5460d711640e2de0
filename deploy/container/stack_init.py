"""First-start secret of the compose stack: Grafana's admin password, written to a volume.

    python /opt/stack/stack_init.py --grafana-password-file /run/secrets/grafana/admin-password

The password is the value of ``GRAFANA_ADMIN_PASSWORD`` (from ``.env``) when set; else the one
already in the file (the stack was started before); else a new random one. The stack therefore
starts with no ``.env`` and never with a known default (no admin/admin). The value is never
logged, only where to read it. A weak password stops start-up with one line naming the variable.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

from stacklog import configure_logging

log = logging.getLogger("stack.init")

# Grafana's own minimum is 4; 12 characters keeps a guessable password out of a stack that
# may be reached through an SSH tunnel or a reverse proxy.
MIN_PASSWORD_LENGTH = 12
# Passwords that appear in every "getting started" page.
WELL_KNOWN = {"admin", "password", "grafana", "changeme", "change-me", "secret", "123456789012"}
FILE_MODE = 0o640  # owner (the stack user, 10001) and group 0, which Grafana's user (472:0) is in


class InitError(ValueError):
    """A bad value from the environment; ``str()`` is the one line shown to the user."""


def _check_password(name: str, value: str) -> str:
    if value.strip().lower() in WELL_KNOWN or len(value) < MIN_PASSWORD_LENGTH:
        raise InitError(f"{name} is too weak: expected at least {MIN_PASSWORD_LENGTH} characters "
                        f"and not a well-known default such as 'admin'")
    if value != value.strip() or "\n" in value:
        raise InitError(f"{name} starts or ends with whitespace or holds a newline: expected one line")
    return value


def _write(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.chmod(tmp, FILE_MODE)  # the umask may have narrowed it
    os.replace(tmp, path)


def ensure_secret(path: Path, from_env: str | None, what: str, read_hint: str) -> str:
    """Make ``path`` hold the secret; return how it was chosen: "environment", "kept" or "generated"."""
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if from_env:
        if from_env != existing:
            _write(path, from_env)
        log.info(f"{what}: taken from the environment", extra={"secret_file": str(path)})
        return "environment"
    if existing:
        log.info(f"{what}: kept from an earlier start", extra={"secret_file": str(path)})
        return "kept"
    _write(path, secrets.token_urlsafe(18))  # 18 random bytes: 24 URL-safe characters
    log.warning(f"{what}: none set in .env, generated a random one; read it with: {read_hint}",
                extra={"secret_file": str(path)})
    return "generated"


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    parser = argparse.ArgumentParser(prog="stack_init.py", description=__doc__.split("\n")[0])
    parser.add_argument("--grafana-password-file", type=Path, required=True)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        password = env.get("GRAFANA_ADMIN_PASSWORD", "")
        if password:
            _check_password("GRAFANA_ADMIN_PASSWORD", password)
    except InitError as error:
        print(f"stack-init: error: {error}", file=sys.stderr)
        return 2

    previous = args.grafana_password_file.read_text(encoding="utf-8") if args.grafana_password_file.is_file() else ""
    how = ensure_secret(args.grafana_password_file, password, "Grafana admin password (user admin)",
                        f"docker compose exec grafana cat {args.grafana_password_file}")
    if how == "environment" and previous and previous != password:
        # Grafana applies the admin password only when it creates its database.
        log.warning("GRAFANA_ADMIN_PASSWORD changed, but Grafana keeps the password of its first start; "
                    "apply it with: docker compose exec grafana sh -c 'grafana cli admin "
                    f"reset-admin-password --password-from-stdin < {args.grafana_password_file}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
