"""Which exposition format a scraper asked for, from its ``Accept`` header (RFC 9110, 12.5.1).

The endpoint writes two formats: OpenMetrics 1.0.0 and the Prometheus text format 0.0.4. Each
media range of the header is parsed (type, subtype, parameters, ``q`` weight); a range matches a
format when its type matches (``*`` matches any) and every ``version`` it names is the format's.
The most specific matching range gives a format its weight; the heaviest format wins, the text
format on a tie (the older, more widely read one). A header that accepts neither format, or none
at all, gets the text format too: a scraper that cannot say what it wants is most likely a human
with curl. Prometheus 3.5.3 sends, by default (captured from the binary the tests run)::

    application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,
    application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,
    text/plain;version=0.0.4;q=0.3,*/*;q=0.2

    >>> wants_openmetrics("application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.3")
    True
    >>> wants_openmetrics("application/openmetrics-text;version=0.0.1,text/plain;q=0.5")  # a version we do not write
    False
    >>> wants_openmetrics("text/html, application/openmetrics-text; q=0")  # q=0: not acceptable
    False
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["MediaRange", "parse_accept", "wants_openmetrics", "OPENMETRICS", "TEXT"]

_Q = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")  # RFC 9110 qvalue


@dataclass(frozen=True)
class Format:
    type: str
    subtype: str
    version: str


OPENMETRICS = Format("application", "openmetrics-text", "1.0.0")
TEXT = Format("text", "plain", "0.0.4")


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float = 1.0
    params: dict[str, str] = field(default_factory=dict)  # lower-cased names, without q

    def matches(self, fmt: Format) -> bool:
        if self.type not in ("*", fmt.type) or self.subtype not in ("*", fmt.subtype):
            return False
        return self.params.get("version", fmt.version) == fmt.version

    @property
    def specificity(self) -> tuple[int, int, int]:
        """For choosing among the ranges that match one format: ``text/plain;version=0.0.4``
        before ``text/plain`` before ``text/*`` before ``*/*``."""
        return (self.type != "*", self.subtype != "*", len(self.params))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_accept(header: str) -> list[MediaRange]:
    """The header's media ranges, in order; a malformed range (no ``type/subtype``, a bad ``q``)
    is left out rather than guessed at."""
    ranges = []
    for part in header.split(","):
        pieces = part.split(";")
        media = pieces[0].strip().lower()
        kind, slash, subtype = media.partition("/")
        if not slash or not kind or not subtype:
            continue
        q, params, valid = 1.0, {}, True
        for piece in pieces[1:]:
            name, equals, value = piece.partition("=")
            name = name.strip().lower()
            if not equals or not name:
                continue
            value = _unquote(value)
            if name == "q":
                if not _Q.match(value):
                    valid = False
                    break
                q = float(value)
            else:
                params[name] = value
        if valid:
            ranges.append(MediaRange(kind, subtype, q, params))
    return ranges


def _weight(ranges: list[MediaRange], fmt: Format) -> float:
    matching = [r for r in ranges if r.matches(fmt)]
    return max(matching, key=lambda r: r.specificity).q if matching else 0.0


def wants_openmetrics(accept: str | None) -> bool:
    """True when ``accept`` prefers OpenMetrics 1.0.0 to the text format 0.0.4."""
    ranges = parse_accept(accept or "")
    return _weight(ranges, OPENMETRICS) > _weight(ranges, TEXT)
