"""Fitting text into a channel's limits, counted as the channel counts (Telegram: UTF-16 units).

    >>> fit_lines(["a" * 10] * 5, limit=40)
    ['aaaaaaaaaa', 'aaaaaaaaaa', '… and 3 more']
    >>> truncate("abcdef", 4)
    'abc…'
"""

from __future__ import annotations

from typing import Callable, Sequence

__all__ = ["utf16_len", "truncate", "fit_lines"]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int, length: Callable[[str], int] = utf16_len) -> str:
    if length(text) <= limit:
        return text
    while text and length(text) > limit - 1:
        text = text[:-1]
    return text + "…"


def fit_lines(lines: Sequence[str], limit: int, separator: str = "\n",
              length: Callable[[str], int] = utf16_len) -> list[str]:
    """As many of ``lines`` as fit in ``limit`` joined by ``separator``, then "… and N more"."""
    if length(separator.join(lines)) <= limit:
        return list(lines)
    kept = list(lines)
    while kept:
        kept.pop()
        candidate = kept + [f"… and {len(lines) - len(kept)} more"]
        if length(separator.join(candidate)) <= limit:
            return candidate
    return [truncate(f"… {len(lines)} lines", limit, length)]
