"""``python -m trader resume --state-dir DIR --account NAME [--yes]``: lift a stopped trader's halt.

A restart never lifts a halt; this does, explicitly: it shows the halt, asks (unless ``--yes``),
lifts it in the journal (trader/journal/halt.py) with an ``actions`` row naming the actor
(``cli:<OS user>``), and logs one JSON line saying who. The next start trades again.

It refuses, in one line on stderr with exit code 2, while a trader runs on the state dir (the
running trader owns its state: lift the halt through its control API, issue 15), for a state dir
without a journal, an unreadable journal, or an unknown account. Nothing to lift is exit 0.

Two steps, so an operator at the prompt never blocks a trader's start: read and ask without
holding the state dir, then take the lock and lift, reading the row again inside the write.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
import time
from datetime import datetime, timezone

from stacklog import configure_logging

from .halt import Halt, describe_halt, lift_halt
from .store import JournalError, JournalInUse, open_journal

__all__ = ["run", "os_user"]

_log = logging.getLogger("trader.journal")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name, no passwd entry (a bare container uid)
        return f"uid{os.getuid()}"


def _refuse(message: str) -> int:
    print(f"resume: {message}", file=sys.stderr)
    return 2


def _open(state_dir: str):
    try:
        return open_journal(state_dir, feed_kind=None, create=False, lock_wait_seconds=0.0)
    except JournalInUse as error:
        raise JournalError(f"{state_dir}: a trader is running on it (pid {error.pid or 'unknown'}); lift the halt "
                           "through that trader's control API, or stop it first") from None


def _question(halt: Halt) -> str:
    since = (datetime.fromtimestamp(halt.halted_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
             if halt.halted_at else "an unknown time")
    also = " The drawdown restarts from the last equity (high-water mark %.2f -> %.2f USDT)." % (
        halt.high_water_mark_usdt, halt.equity_usdt) if "max_drawdown" in halt.lifts else ""
    return (f"Lift the {' and '.join(halt.lifts)} halt of account {halt.account!r} (halted since {since}, "
            f"drawdown {halt.drawdown_ratio:.1%})?{also} [y/N] ")


def run(state_dir: str, account: str, confirmed: bool = False) -> int:
    configure_logging("INFO")
    try:
        journal = _open(state_dir)
        try:
            halt = describe_halt(journal, account)
        finally:
            journal.close()
        if halt is None:
            print(f"resume: account {account!r} is not halted; nothing to do", file=sys.stderr)
            return 0
        if not confirmed:
            if not sys.stdin.isatty():
                return _refuse("add --yes to lift the halt without a prompt (stdin is not a terminal)")
            print(_question(halt), end="", file=sys.stderr, flush=True)
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return _refuse("not confirmed; the halt stays")
        actor = f"cli:{os_user()}"
        journal = _open(state_dir)
        try:
            lifted = lift_halt(journal, account, actor, time.time())
        finally:
            journal.close()
    except JournalError as error:
        return _refuse(str(error))
    if lifted is None:
        print(f"resume: account {account!r} is not halted; nothing to do", file=sys.stderr)
        return 0
    _log.warning("trading halt lifted", extra={
        "account": account, "actor": actor, "user": os_user(), "lifted": ",".join(lifted.lifts),
        "drawdown_ratio": round(lifted.drawdown_ratio, 4), "journal": str(journal.path)})
    return 0
