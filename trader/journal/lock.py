"""One writer per state directory: an exclusive ``flock`` on ``<state-dir>/journal.lock``.

The running trader holds the lock for its whole life (the file holds its PID, for the message
another process shows); the ``resume`` command holds it while it writes. The kernel releases it
when the holder dies, even by ``kill -9``, so a crashed trader never blocks its own restart.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> first = StateLock.acquire(folder)
    >>> StateLock.holder(folder) == os.getpid()
    True
    >>> StateLock.acquire(folder, wait_seconds=0)
    Traceback (most recent call last):
    ...
    trader.journal.lock.LockHeld: held by pid ...
    >>> first.release()
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

__all__ = ["StateLock", "LockHeld", "LOCK_FILE"]

LOCK_FILE = "journal.lock"


class LockHeld(Exception):
    """Another live process holds the lock; ``pid`` is what its lock file says (None if unreadable)."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"held by pid {pid if pid is not None else 'unknown'}")
        self.pid = pid


class StateLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path, wait_seconds: float = 0.0) -> "StateLock":
        """Take the lock, waiting up to ``wait_seconds`` for its holder to let go; raises
        ``LockHeld``, or ``OSError`` when the lock file cannot be opened."""
        path = Path(state_dir) / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockHeld(cls.holder(state_dir)) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    @staticmethod
    def holder(state_dir: Path) -> int | None:
        """The PID the lock file names (the last holder's; it may have exited)."""
        try:
            return int((Path(state_dir) / LOCK_FILE).read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
