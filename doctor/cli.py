"""``python -m doctor``: check the running stack, print one screen, exit 0 only when alerts can
reach a person.

    python -m doctor                                  # the stack's published ports on localhost
    python -m doctor --notify                         # and a test notification to every channel
    python -m doctor --json --skip loki --skip alloy  # for a script; a stack without the logs path
    docker compose run --rm doctor [--notify]         # inside the compose network (docker-compose.yml)

Exit codes: 0 every check alerts need passed; 1 one of them failed (the screen says which and
how to fix it); 2 a bad flag (one line on stderr naming it). A service that cannot be reached is
one ✘ line naming it and its URL.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from stacklog import configure_logging

from doctor.checks import alertmanager, alloy, grafana, loki, prometheus, trader
from doctor.http import HttpClient
from doctor.notify import send_test_notifications
from doctor.report import render_json, render_text
from doctor.result import Findings, alerting_works

__all__ = ["DoctorConfig", "parse_args", "run", "main", "SERVICES"]

# service -> (flag default: compose's published port on localhost)
SERVICES = {
    "prometheus": "http://localhost:9090",
    "alertmanager": "http://localhost:9093",
    "trader": "http://localhost:8000",
    "grafana": "http://localhost:3000",
    "loki": "http://localhost:3100",
    "alloy": "http://localhost:12345",
}


@dataclass(frozen=True)
class DoctorConfig:
    urls: dict[str, str]  # service -> base URL, for the services not skipped
    grafana_password_file: Path | None
    notify: bool
    json: bool
    timeout: float  # seconds per HTTP request
    notify_timeout: float  # seconds for the whole test notification


class UsageError(ValueError):
    """A bad flag; ``str()`` is the one line to print."""


def _url(flag: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{flag} {value!r} is not a URL: expected e.g. http://localhost:9090")
    return value.rstrip("/")


def _seconds(flag: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:  # also refuses NaN
        raise UsageError(f"{flag} {value!r}: expected {low:g} to {high:g} seconds")
    return value


def parse_args(argv: list[str] | None = None) -> DoctorConfig:
    parser = argparse.ArgumentParser(
        prog="python -m doctor",
        description="Check the running stack through each service's own API: one line per check, and for "
                    "each failure its likely cause and the command that fixes it.",
        epilog="exit codes: 0 everything alerts need works; 1 a check alerts need failed; 2 a bad flag")
    for service, default in SERVICES.items():
        parser.add_argument(f"--{service}", metavar="URL", default=default, help=f"{service} (default {default})")
    parser.add_argument("--grafana-password-file", metavar="PATH", type=Path, default=None,
                        help="the admin password stack-init wrote (compose: /run/secrets/grafana/admin-password)")
    parser.add_argument("--notify", action="store_true",
                        help="send a test alert to every configured channel and report each delivery")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the text screen")
    parser.add_argument("--skip", action="append", default=[], choices=sorted(SERVICES),
                        help="do not check this service (repeatable)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                        help="per HTTP request (default 5)")
    parser.add_argument("--notify-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="for the whole test notification (default 60)")
    args = parser.parse_args(argv)
    urls = {service: _url(f"--{service}", getattr(args, service)) for service in SERVICES
            if service not in args.skip}
    return DoctorConfig(urls=urls, grafana_password_file=args.grafana_password_file, notify=args.notify,
                        json=args.json, timeout=_seconds("--timeout", args.timeout, 0.1, 120),
                        notify_timeout=_seconds("--notify-timeout", args.notify_timeout, 5, 600))


def _password(path: Path | None) -> tuple[str | None, str]:
    """(password, why it is missing); the password itself is never printed."""
    if path is None:
        return None, "no --grafana-password-file given"
    try:
        password = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot read --grafana-password-file {path}: {getattr(error, 'strerror', None) or error}"
    return (password, "") if password else (None, f"--grafana-password-file {path} is empty")


def run(config: DoctorConfig, http: HttpClient | None = None) -> list[Findings]:
    http = http or HttpClient(config.timeout)
    urls = config.urls
    password, password_problem = _password(config.grafana_password_file)
    checks = {
        "prometheus": lambda url: prometheus.check(http, url),
        "alertmanager": lambda url: alertmanager.check(http, url),
        "trader": lambda url: trader.check(http, url),
        "grafana": lambda url: grafana.check(http, url, password=password, password_problem=password_problem),
        "loki": lambda url: loki.check(http, url),
        "alloy": lambda url: alloy.check(http, url),
    }
    results = [checks[service](url) for service, url in urls.items()]
    if config.notify and "alertmanager" in urls:
        results.append(send_test_notifications(http, urls["alertmanager"], timeout=config.notify_timeout))
    return results


def main(argv: list[str] | None = None) -> int:
    configure_logging("WARNING", stream=sys.stderr)  # the report owns stdout
    try:
        config = parse_args(argv)
    except UsageError as error:
        print(f"doctor: error: {error}", file=sys.stderr)
        return 2
    results = run(config)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(render_json(results, now=now) if config.json else render_text(results, now=now))
    return 0 if alerting_works([c for found in results for c in found.checks]) else 1
