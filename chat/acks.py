"""Acks: a silence that holds while its alert fires and is removed once the alert resolves.

Alertmanager has no such silence; ``ack`` (chat/commands.py) makes an ordinary one that matches
the alert instance's labels exactly, created by ``chat-ack:<who>`` and bounded by ``ACK_MAX``.
This loop, every ``CHAT_ACK_CHECK_SECONDS``, expires each active ack silence that no alert in
Alertmanager matches any more (firing, silenced or inhibited): the alert resolved, so the next
time it fires it pages again.
"""

from __future__ import annotations

import asyncio
import logging

from .clients import Alertmanager, Down
from .commands import ACK_CREATED_BY, silence_matches

__all__ = ["expire_resolved_acks", "run_ack_watcher"]

_log = logging.getLogger("chat.acks")


async def expire_resolved_acks(alertmanager: Alertmanager) -> list[str]:
    """Expire the ack silences whose alerts are gone; returns their ids."""
    silences = [s for s in await alertmanager.silences()
                if s["status"]["state"] == "active" and s["createdBy"].startswith(f"{ACK_CREATED_BY}:")]
    if not silences:
        return []
    alerts = await alertmanager.alerts(silenced=True, inhibited=True)
    gone = [s for s in silences if not any(silence_matches(s, a["labels"]) for a in alerts)]
    for silence in gone:
        await alertmanager.expire(silence["id"])
        _log.info("ack removed: its alert resolved", extra={"silence_id": silence["id"],
                                                            "created_by": silence["createdBy"]})
    return [s["id"] for s in gone]


async def run_ack_watcher(alertmanager: Alertmanager, interval: float) -> None:
    while True:
        try:
            await expire_resolved_acks(alertmanager)
        except Down as down:
            _log.warning("cannot check acks", extra={"reason": str(down)})
        except Exception:  # a bug must not stop the watcher for good
            _log.exception("ack check failed")
        await asyncio.sleep(interval)
