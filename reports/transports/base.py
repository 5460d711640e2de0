"""What every transport shares: the note type, the send contract, isolation and redaction."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable, Protocol

from ..wording import Words

__all__ = ["Note", "Outcome", "Transport", "TransportError", "send_isolated", "redact"]

_log = logging.getLogger("reports.transports")


@dataclass(frozen=True)
class Note:
    """A short message (trade notifications): a title and lines of text."""

    title: str
    lines: tuple[str, ...]
    footer: str = ""


class TransportError(Exception):
    """A send that failed; ``str()`` is one line with every secret of the channel hidden."""


class Transport(Protocol):
    name: str  # "email" | "telegram" | "discord"

    def secrets(self) -> Iterable[str]:
        """Values that must never reach a log line (tokens, passwords, webhook tokens)."""

    async def send_report(self, text: Words, png: bytes, html: str) -> None: ...

    async def send_note(self, note: Note) -> None: ...


@dataclass(frozen=True)
class Outcome:
    channel: str
    ok: bool
    error: str | None = None
    seconds: float = 0.0


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "(hidden)")
    return " ".join(text.split())  # one line


async def send_isolated(transport: Transport, what: str, send: Callable[[Transport], Awaitable[None]],
                        **context: str) -> Outcome:
    """Run ``send(transport)``; any failure becomes a logged ``Outcome`` (never an exception)."""
    started = time.monotonic()
    try:
        await send(transport)
    except Exception as error:  # noqa: BLE001 - one failing channel must never stop the others
        reason = redact(f"{type(error).__name__}: {error}", transport.secrets())[:500]
        _log.error(f"{transport.name}: sending the {what} failed", extra={"channel": transport.name, "what": what,
                                                                           "reason": reason, **context})
        return Outcome(transport.name, False, reason, time.monotonic() - started)
    seconds = time.monotonic() - started
    _log.info(f"{transport.name}: {what} sent", extra={"channel": transport.name, "what": what,
                                                       "seconds": round(seconds, 3), **context})
    return Outcome(transport.name, True, None, seconds)
