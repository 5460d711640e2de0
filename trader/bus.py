"""A synchronous, in-process event bus.

Handlers run in the publisher's call, in subscription order, so an event is fully handled before
the next market message is read. Handlers must be quick: they run on the market-data path.

    >>> from trader.events import FeedConnected
    >>> bus = EventBus()
    >>> bus.subscribe(FeedConnected, lambda e: print(e.exchange))
    >>> bus.publish(FeedConnected("okx", 0.0))
    okx
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, TypeVar

__all__ = ["EventBus"]

E = TypeVar("E")
_log = logging.getLogger("trader.bus")


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                # One broken subscriber must not stop the others or the feed.
                _log.exception("event handler failed", extra={"event": type(event).__name__})
