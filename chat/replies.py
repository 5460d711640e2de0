"""What the chat says, before a transport shapes it: a reply is a title, lines and buttons.

Lines are in Telegram's HTML subset (b, i, code: https://core.telegram.org/bots/api#html-style),
escaped by whoever builds them (``e()``); Discord's transport turns them into Markdown. Each
transport splits a reply into pages within its own limit (``pages()``), the buttons on the last.

    >>> pages(Reply("Title", tuple(f"line {i}" for i in range(5))), limit=40)
    ['<b>Title</b>\\nline 0\\nline 1', '<b>Title</b> (2/3)\\nline 2\\nline 3', '<b>Title</b> (3/3)\\nline 4']
    >>> money(10240.456), money(-3.2), ratio(0.1234), ratio(None), money(float("nan"))
    ('10,240.46', '-3.20', '12.3%', 'n/a', 'n/a')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

# Telegram counts UTF-16 code units: the reports' transports already measure that way.
from reports.numbers import NA
from reports.transports.fit import utf16_len

__all__ = ["Button", "Reply", "pages", "e", "money", "ratio", "utf16_len"]


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # what comes back when pressed; at most 64 bytes (Telegram's callback_data limit)


@dataclass(frozen=True)
class Reply:
    title: str  # plain text
    lines: tuple[str, ...] = ()  # HTML subset, escaped
    buttons: tuple[Button, ...] = ()
    photo: bytes | None = None  # a chart (report)
    refusal: bool = False  # a refusal: not counted as an answer by tests, logged by the brain
    meta: dict = field(default_factory=dict, compare=False)


def e(text: object) -> str:
    return escape(str(text), quote=False)


def _cut(line: str, limit: int) -> str:
    if utf16_len(line) <= limit:
        return line
    # a line that alone exceeds a page: drop its tags (a cut could leave one open) and trim
    import re

    plain = re.sub(r"</?(b|i|u|s|code|pre)>", "", line)
    while utf16_len(plain) > limit - 1:
        plain = plain[: max(1, len(plain) - 50)] if utf16_len(plain) > limit + 50 else plain[:-1]
    if "&" in plain[-8:]:
        plain = plain[: plain.rfind("&")]  # never end inside an entity such as &amp;
    return plain + "…"


def pages(reply: Reply, limit: int) -> list[str]:
    """The reply as texts of at most ``limit`` characters (UTF-16 units), "(2/3)" after the title."""
    head = f"<b>{e(reply.title)}</b>"
    room = limit - utf16_len(head) - len(" (99/99)") - 1
    chunks: list[list[str]] = [[]]
    used = 0
    for line in reply.lines:
        line = _cut(line, room)
        size = utf16_len(line) + 1
        if chunks[-1] and used + size > room:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += size
    total = len(chunks)
    return ["\n".join([head if total == 1 or i == 0 else f"{head} ({i + 1}/{total})", *chunk])
            for i, chunk in enumerate(chunks)]


def _shown(value: float | None) -> bool:
    return value is not None and math.isfinite(value)  # Prometheus answers NaN and ±Inf too


def money(value: float | None) -> str:
    return f"{value:,.2f}" if _shown(value) else NA


def ratio(value: float | None) -> str:
    return f"{value:.1%}" if _shown(value) else NA
