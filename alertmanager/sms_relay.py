"""The SMS relay's logic: an Alertmanager webhook payload in, one SMS per firing alert out.

Separate from the HTTP server (``alertmanager/sms.py``) so it is tested by calling ``deliver``.

The answer tells Alertmanager what to do next: 2xx done; 5xx retry (the provider failed or timed
out: the page must not be lost, so never a 4xx for that); 4xx do not retry (our caller sent
something wrong). Each (group, alert, start, recipient) that went out is remembered, so a retry
or a group update sends only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from .sms_dedupe import TtlSet
from .sms_text import fit, sms_text
from .twilio import ProviderError, TwilioClient

__all__ = ["SmsRelay", "RelayMetrics", "Outcome", "PayloadError", "MAX_SMS_PER_GROUP"]

log = logging.getLogger("alertmanager.sms")

# A storm of 100 alerts must not become 100 SMS: the first few are sent one per alert, the rest
# become one "+N more" SMS (the other channels and Alertmanager's UI list them all).
MAX_SMS_PER_GROUP = 5


class PayloadError(ValueError):
    """The request body is not an Alertmanager webhook payload (answered with 400)."""


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter("sms_relay_messages_sent_total", "SMS accepted by the provider.", registry=registry)
        self.failed = Counter("sms_relay_messages_failed_total", "SMS the provider did not accept.",
                              ["reason"], registry=registry)
        self.retries = Counter("sms_relay_retries_total",
                               "SMS sent on a later delivery after an earlier attempt failed.", registry=registry)
        self.duplicates = Counter("sms_relay_duplicates_skipped_total",
                                  "SMS not sent again because they already went out.", registry=registry)
        self.requests = Counter("sms_relay_requests_total", "Webhook requests by answer code.",
                                ["code"], registry=registry)
        # Twilio answers in ~0.2-1 s; 10 s is our timeout.
        self.duration = Histogram("sms_relay_send_duration_seconds", "Time to hand one SMS to the provider.",
                                  buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry)
        for reason in ("timeout", "connection", "http_4xx", "http_5xx"):
            self.failed.labels(reason)  # present at zero so a rate() sees the first failure
        for code in ("200", "400", "401", "413", "502"):
            self.requests.labels(code)


@dataclass
class Outcome:
    status: int
    sent: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    def body(self) -> bytes:
        return json.dumps({"sent": self.sent, "skipped_duplicates": self.skipped,
                           "failed": self.failed}).encode()


def _fingerprint(alert: dict) -> str:
    """Alertmanager sends one; compute a stable stand-in from the labels if it is missing."""
    if alert.get("fingerprint"):
        return str(alert["fingerprint"])
    labels = json.dumps(alert.get("labels", {}), sort_keys=True)
    return hashlib.sha256(labels.encode()).hexdigest()[:16]


def _validate(payload: object) -> list[dict]:
    if not isinstance(payload, dict):
        raise PayloadError("body is not a JSON object")
    if str(payload.get("version")) != "4":
        raise PayloadError(f"version={payload.get('version')!r}: expected Alertmanager webhook payload version '4'")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts is missing or not a list")
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            raise PayloadError(f"alerts[{index}] has no labels object")
        if alert.get("annotations") is not None and not isinstance(alert["annotations"], dict):
            raise PayloadError(f"alerts[{index}].annotations is not an object")
    return alerts


class SmsRelay:
    def __init__(self, client: TwilioClient, recipients: list[str], metrics: RelayMetrics,
                 dedupe_ttl_seconds: float = 50 * 60, max_per_group: int = MAX_SMS_PER_GROUP) -> None:
        self._client = client
        self._recipients = recipients
        self.metrics = metrics
        self._sent = TtlSet(dedupe_ttl_seconds)
        self._failed_before = TtlSet(dedupe_ttl_seconds)
        self._max_per_group = max_per_group
        # Deliveries are handled one at a time: a retry arriving while the first attempt is still
        # talking to the provider must see its result, not send in parallel. SMS volume is tiny.
        self._lock = threading.Lock()

    def _messages(self, payload: dict, alerts: list[dict]) -> list[tuple[str, str]]:
        """(dedupe key, text) of the SMS this payload asks for, before recipients."""
        group = str(payload.get("groupKey", ""))
        firing = [a for a in alerts if a.get("status", "firing") == "firing"]
        messages = [(f"{group}|{_fingerprint(a)}|{a.get('startsAt', '')}", sms_text(a))
                    for a in firing[:self._max_per_group]]
        rest = firing[self._max_per_group:]
        if rest:
            names = sorted({str(a["labels"].get("alertname", "?")) for a in rest})
            keys = sorted(f"{_fingerprint(a)}{a.get('startsAt', '')}" for a in rest)
            digest = hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]
            text = fit(f"+{len(rest)} more firing: {', '.join(names)}. See Alertmanager.")
            messages.append((f"{group}|more|{digest}", text))
        return messages

    def deliver(self, payload: object) -> Outcome:
        alerts = _validate(payload)
        outcome = Outcome(status=200)
        with self._lock:
            for key, text in self._messages(payload, alerts):
                for to in self._recipients:
                    self._send_once((key, to), to, text, outcome)
        if outcome.failed:
            outcome.status = 502  # Alertmanager retries a 5xx: only the unsent will go out again
        return outcome

    def _send_once(self, key: tuple[str, str], to: str, text: str, outcome: Outcome) -> None:
        if key in self._sent:
            outcome.skipped += 1
            self.metrics.duplicates.inc()
            return
        started = time.monotonic()
        try:
            self._client.send(to, text)
        except ProviderError as error:
            self.metrics.failed.labels(error.reason).inc()
            self._failed_before.add(key)
            outcome.failed.append(error.reason)
            log.warning("sms not sent", extra={"reason": error.reason, "error": str(error), "to": _masked(to)})
            return
        finally:
            self.metrics.duration.observe(time.monotonic() - started)
        self._sent.add(key)
        self.metrics.sent.inc()
        if key in self._failed_before:
            self.metrics.retries.inc()
        outcome.sent += 1
        log.info("sms sent", extra={"to": _masked(to), "chars": len(text)})


def _masked(number: str) -> str:
    """A phone number is personal data: logs keep the last two digits, enough to tell two apart."""
    return "*" * max(len(number) - 2, 0) + number[-2:]
