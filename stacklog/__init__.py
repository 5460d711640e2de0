"""JSON-lines logging for every Python process of the stack (trader, SMS relay, render step).

One object per line on stdout: ``ts``, ``level``, ``logger``, ``msg``, then the context fields
passed through ``extra=`` (``exchange``, ``symbol``, ``account``, ``order_id``, ``strategy``,
``drill``...). Alloy parses these lines and promotes ``level`` and ``exchange`` to Loki labels.

    >>> import io, logging
    >>> stream = io.StringIO()
    >>> configure_logging(stream=stream)
    >>> logging.getLogger("trader.feed").info("connected", extra={"exchange": "okx"})
    >>> record = json.loads(stream.getvalue())
    >>> record["msg"], record["exchange"], record["level"]
    ('connected', 'okx', 'info')
"""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import datetime, timezone
from typing import IO

__all__ = ["JsonFormatter", "configure_logging", "CONTEXT_FIELDS"]

CONTEXT_FIELDS = ("exchange", "symbol", "account", "order_id", "strategy", "drill")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line[key] = _json_safe(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Send every logger's records to ``stream`` (default stdout) as JSON lines."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
