"""Simulated time: a clock that moves only when told, and an event loop whose sleeps take no wall time.

A replay or a drill "on simulated time at max speed" runs the whole trader (feeds, broker
latencies, housekeeping, risk sampling, drills) on this loop. The loop's ``time()`` is the
simulated clock; when nothing is ready to run and the next thing due is a timer, the loop moves
the clock to that timer instead of waiting for it. ``await asyncio.sleep(60)`` returns at once,
with the clock 60 s later, and every timer due in between has run in order. Sockets still work
(they are polled without blocking), but nothing on this loop should wait on wall-clock work.

    clock = SimulatedClock(start=1723161255.0)
    with asyncio.Runner(loop_factory=lambda: simulated_loop(clock)) as runner:
        runner.run(trader.run())      # a 6-minute recording in a few seconds of wall time
"""

from __future__ import annotations

import asyncio
import selectors

__all__ = ["SimulatedClock", "simulated_loop"]


class SimulatedClock:
    """Epoch seconds that advance only through ``advance`` / ``advance_to``; call it for the time.

    The elapsed part is kept apart from the origin so that small steps stay exact (an epoch-sized
    float has a resolution of about 0.2 us).

        >>> clock = SimulatedClock(1000.0)
        >>> clock.advance(2.5); clock()
        1002.5
        >>> clock.advance_to(1001.0); clock()    # never backwards
        1002.5
    """

    __slots__ = ("origin", "elapsed")

    def __init__(self, start: float) -> None:
        self.origin = float(start)
        self.elapsed = 0.0

    def __call__(self) -> float:
        return self.origin + self.elapsed

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.elapsed += seconds

    def advance_to(self, epoch_seconds: float) -> None:
        self.advance(epoch_seconds - self())


class _JumpingSelector(selectors.BaseSelector):
    """A selector that, instead of blocking until the next timer, moves the clock to it."""

    def __init__(self, clock: SimulatedClock) -> None:
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj, events, data=None):
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._inner.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout=None):
        ready = self._inner.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:  # no timer at all: only I/O (another thread, a signal) can wake the loop
            return self._inner.select(None)
        before = self._clock.elapsed
        self._clock.advance(timeout)
        if self._clock.elapsed == before:  # a step below the float's resolution: still make progress
            self._clock.elapsed = before + max(abs(before) * 1e-15, 1e-12)
        return []

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj):
        return self._inner.get_key(fileobj)

    def get_map(self):
        return self._inner.get_map()


class _SimulatedLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: SimulatedClock) -> None:
        self._sim_clock = clock
        super().__init__(selector=_JumpingSelector(clock))

    def time(self) -> float:
        return self._sim_clock.elapsed


def simulated_loop(clock: SimulatedClock) -> asyncio.AbstractEventLoop:
    """A new event loop running on ``clock`` (for ``asyncio.Runner(loop_factory=...)``)."""
    return _SimulatedLoop(clock)
