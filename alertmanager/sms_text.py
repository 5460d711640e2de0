"""One SMS per alert, one segment long: 160 GSM-7 characters, or 70 when it cannot be GSM-7.

A longer text would be split into several billed parts that phones may show out of order; the
summary is cut instead (it leads with what matters). Common typographic characters that would
force the 70-character UCS-2 encoding (curly quotes, dashes, the ellipsis) are replaced first.

    >>> sms_text({"status": "firing", "labels": {"alertname": "TraderDrawdownHigh",
    ...     "severity": "critical", "account": "main"},
    ...     "annotations": {"summary": "Drawdown 12.4% — above the 10% limit"}})
    'CRITICAL TraderDrawdownHigh main: Drawdown 12.4% - above the 10% limit'
    >>> gsm7_length("price {x}")  # braces take two septets each
    11
"""

from __future__ import annotations

__all__ = ["sms_text", "gsm7_length", "fit", "GSM7_SEGMENT", "UCS2_SEGMENT"]

GSM7_SEGMENT = 160  # septets in one SMS
UCS2_SEGMENT = 70   # UTF-16 code units in one SMS when any character is outside GSM-7

# GSM 03.38 basic character set (one septet each) and its extension table (escape + char: two).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

# Characters that look alike in GSM-7; without this one "—" in a summary costs 90 characters.
_LOOKALIKES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2026": "...", "\u2022": "*",
    "\u2265": ">=", "\u2264": "<=", "\u00d7": "x", "\u2192": "->", "\t": " ",
})

_SEVERITY = {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"}


def gsm7_length(text: str) -> int | None:
    """Septets ``text`` takes in GSM-7, or None when a character has no GSM-7 form."""
    total = 0
    for char in text:
        if char in _GSM7_BASIC:
            total += 1
        elif char in _GSM7_EXTENDED:
            total += 2
        else:
            return None
    return total


def _ucs2_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str) -> str:
    """``text`` cut (with "...") to one SMS segment in the encoding it needs."""
    text = " ".join(text.translate(_LOOKALIKES).split())  # one line, single spaces
    if gsm7_length(text) is not None:
        measure, limit = gsm7_length, GSM7_SEGMENT
    else:
        measure, limit = _ucs2_length, UCS2_SEGMENT
    if measure(text) <= limit:
        return text
    while text and measure(text + "...") > limit:
        text = text[:-1]
    return text.rstrip() + "..."


def sms_text(alert: dict) -> str:
    """The one-line SMS for an alert of an Alertmanager webhook payload."""
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    severity = _SEVERITY.get(str(labels.get("severity", "")), str(labels.get("severity", "ALERT")).upper())
    head = " ".join(str(part) for part in (severity, labels.get("alertname", "?"), labels.get("trader"), labels.get("account")) if part)
    what = annotations.get("summary") or annotations.get("description") or ""
    return fit(f"{head}: {what}" if what else head)
