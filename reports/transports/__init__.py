"""Thin transports: each lays out the ``Words`` of a report (or a trade note) in its channel's
format, fits the channel's limits and sends. None decides what to say (``reports.wording`` does).

    transports = build_transports(settings)         # {"telegram": TelegramTransport, ...}
    outcome = await send_isolated(transports["telegram"], "report", lambda t: t.send_report(text, png, html))

``send_isolated`` is how every send runs: one failing transport is logged (one line, secrets
hidden) and returned as a failure, never raised into the others.
"""

from .base import Note, Outcome, Transport, TransportError, send_isolated
from .factory import build_transports

__all__ = ["Note", "Outcome", "Transport", "TransportError", "send_isolated", "build_transports"]
