"""Run a real ``Trader`` on the sim feed in-process, with timings shrunk for tests."""

from __future__ import annotations

import asyncio
from typing import Callable

from trader.config import load_config_text
from trader.engine import Trader

# Fast strategies (quarter-second bars, short timeouts, a reversed signal closes the position)
# and a 4-s risk window so a few seconds of sim show every order type and status, and figures
# that need samples.
FAST_SIM = """
feed: {kind: sim, exchanges: [binance], symbols: [BTCUSDT, ETHUSDT, SOLUSDT], sim_updates_per_second: 10, seed: 3}
risk: {sample_interval_seconds: 0.2, min_samples: 5, correlation_min_returns: 3}
paper: {reject_probability: 0.05}  # source document 004 uses 0.01; 5 % shows a rejection within seconds
drill: {delay_seconds: 1.5, duration_seconds: 3.0, crash_over_seconds: 1.0}
accounts:
  - name: main
    limits: {var_usdt: 1.0e+9}  # 0.2-s samples scaled to a day give a VaR no real run has
    strategies:
      - {type: momentum, bar_seconds: 0.1, lookback_bars: 5, entry_threshold: 0.3, max_hold_seconds: 1.5,
         entry_timeout_seconds: 0.5, stop_loss_ratio: 0.0003, take_profit_ratio: 0.0002, exit_on_reversal: true}
      - {type: mean_reversion, bar_seconds: 0.1, lookback_bars: 6, entry_threshold: 0.8, max_hold_seconds: 1.5,
         entry_timeout_seconds: 0.5, stop_loss_ratio: 0.0003, take_profit_ratio: 0.0002, exit_on_reversal: true}
"""


def run_trader(config_text: str, seconds: float, drill: str | None = None,
               probe: Callable[[Trader], None] | None = None, probe_every: float = 0.1) -> Trader:
    """Run for ``seconds`` of wall time, calling ``probe(trader)`` every ``probe_every`` s."""
    trader = Trader(load_config_text(config_text), drill=drill)

    async def main() -> None:
        task = asyncio.create_task(trader.run())
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await asyncio.sleep(probe_every)
            if probe is not None:
                probe(trader)
        trader.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    return trader
