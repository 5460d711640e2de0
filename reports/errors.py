"""The one error the reports service reports: bad input, an unreadable journal, a bad setting.

Its ``str()`` is one line naming what was wrong and what was expected; the CLI prints it and
exits with code 2. It never carries a secret.
"""

from __future__ import annotations

__all__ = ["ReportsError"]


class ReportsError(Exception):
    """One line for the user: what was wrong (the flag, the value, the file) and what was expected."""
