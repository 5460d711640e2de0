"""``python -m trader``: the one place that wires the trading core to the exporters.

No other module of ``trader`` imports ``exporters`` or ``prometheus_client``.
"""

from __future__ import annotations

import sys

from .cli import main
from .engine import Trader


def start_exporters(trader: Trader, host: str, port: int) -> object:
    """Serve /metrics, /healthz and /readyz for ``trader``; returns the server (``.close()``)."""
    from exporters.http import start_metrics_server

    return start_metrics_server(trader, port, host=host)


def start_backfill(trader: Trader, path: str, interval: float) -> object:
    """The OpenMetrics writer of ``--openmetrics-out`` (simulated time); ``.run()``, ``.write()``."""
    from pathlib import Path

    from exporters.backfill import start_backfill as backfill

    return backfill(trader, Path(path), interval)


if __name__ == "__main__":
    sys.exit(main(start_exporters=start_exporters, start_backfill=start_backfill))
