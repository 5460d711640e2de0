"""The one error the tuning tool reports: bad input or an unusable service.

The CLI prints it as one line and exits with code 2; nothing has been changed when it is raised.
"""

from __future__ import annotations

__all__ = ["TuningError"]


class TuningError(Exception):
    """One line for the user: what was wrong (the flag, the value, the service) and what was expected."""
