"""``python -m trader``: the one place that wires the trading core to the exporters.

No other module of ``trader`` imports ``exporters`` or ``prometheus_client``.
"""

from __future__ import annotations

import sys

from .cli import main
from .engine import Trader


def start_exporters(trader: Trader, host: str, port: int) -> object:
    """Serve /metrics, /healthz, /readyz and the control API for ``trader``; returns the server
    (``.close()``). The control API's token lives in the state dir (none: the API is off)."""
    from exporters.control_api import ControlApi, load_or_create_token
    from exporters.http import start_metrics_server

    from .control import Controller

    control = None
    state_dir = trader.config.state_dir(trader.drill.name if trader.drill is not None else None)
    if state_dir is not None:
        token, _ = load_or_create_token(state_dir)
        control = ControlApi(Controller(trader), token)
    return start_metrics_server(trader, port, host=host, control=control)


def start_backfill(trader: Trader, path: str, interval: float) -> object:
    """The OpenMetrics writer of ``--openmetrics-out`` (simulated time); ``.run()``, ``.write()``."""
    from pathlib import Path

    from exporters.backfill import start_backfill as backfill

    return backfill(trader, Path(path), interval)


if __name__ == "__main__":
    sys.exit(main(start_exporters=start_exporters, start_backfill=start_backfill))
