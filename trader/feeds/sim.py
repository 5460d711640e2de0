"""Simulated exchange feed: seeded geometric random walks with jumps and volume bursts. Offline.

One ``SimFeed`` is one simulated exchange ("binance", "bybit", "okx" or any name) with any number
of symbols. Every ``1 / updates_per_second`` seconds of wall time each symbol moves (log-normal
step with per-symbol volatility, rare jumps, and any active shock) and publishes a ``Quote``, a
``DepthUpdate`` of a small book (``depth_levels`` per side, in ``MarketState``), a Poisson number
of ``Trade`` s (rate multiplied during volume bursts), and once per second a ``MarkPrice`` with the
funding rate and the next funding time (every ``funding_interval`` seconds, 8 h by default).
During a shock it also publishes ``MarketLiquidation`` s, as a real crash would.

Hooks for the drills:
- ``shock(symbol=None, drop_ratio=0.35, over_seconds=60.0)``: the price of ``symbol`` (or of every
  symbol) falls by ``drop_ratio`` over ``over_seconds`` (geometrically), then stays down (the walk
  continues from the lower level);
- ``pause(seconds)``: an outage: no message, ``FeedDisconnected("simulated outage")``, state
  "backoff"; then ``FeedConnected`` again (a reconnect). ``resume()`` ends it early.

    feed = SimFeed("binance", sim_symbols(3), bus, market, seed=1)
    task = asyncio.create_task(feed.run())
    feed.shock("BTCUSDT", drop_ratio=0.35, over_seconds=60)

``run()`` is ``start()``, then ``tick()`` every ``1 / updates_per_second`` seconds, then ``stop()``
when cancelled. Everything reads time from ``clock``, so a test drives the same steps on a clock
of its own, with no wall time involved:

    >>> from trader.bus import EventBus
    >>> from trader.market import MarketState
    >>> now = [0.0]
    >>> market = MarketState()
    >>> feed = SimFeed("okx", ["BTCUSDT"], EventBus(), market, seed=1, clock=lambda: now[0])
    >>> feed.start()
    >>> for _ in range(4):
    ...     now[0] += 0.25
    ...     feed.tick()
    >>> feed.stop()
    >>> 50_000 < market.mid("okx", "BTCUSDT") < 70_000, market.feed("okx").state
    (True, 'stopped')
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Callable, Sequence

import numpy as np

from trader.bus import EventBus
from trader.events import (DepthUpdate, FeedConnected, FeedDisconnected, MarkPrice, MarketLiquidation,
                           Quote, Trade)
from trader.market import MarketState

__all__ = ["SimFeed", "sim_symbols", "REAL_SYMBOLS"]

# (symbol, start price, annualised volatility): the first symbols get real names and plausible
# figures; further ones are SYM001USDT, SYM002USDT...
REAL_SYMBOLS: tuple[tuple[str, float, float], ...] = (
    ("BTCUSDT", 60000.0, 0.6), ("ETHUSDT", 3000.0, 0.75), ("SOLUSDT", 150.0, 1.0),
    ("BNBUSDT", 550.0, 0.7), ("XRPUSDT", 0.6, 0.9), ("DOGEUSDT", 0.12, 1.1),
    ("ADAUSDT", 0.45, 0.9), ("AVAXUSDT", 30.0, 1.0), ("LINKUSDT", 14.0, 0.95), ("DOTUSDT", 6.0, 0.9),
)
_SECONDS_PER_YEAR = 365.0 * 86400.0
# Jumps: one every 2 h per symbol on average, of 0.5 % (one standard deviation), about a quarter
# of BTC's variance at 60 %/year. (One of 1 % every 10 minutes was 15 times the diffusion's
# variance, a 230 %/year market where every stop gapped through and no default strategy could
# keep its win rate or its equity.)
_log = logging.getLogger("trader.feeds.sim")


def sim_symbols(n: int) -> list[str]:
    """The first ``n`` simulated symbol names: BTCUSDT, ETHUSDT, ..., then SYM001USDT..."""
    if n < 0:
        raise ValueError(f"number of symbols {n!r}: expected >= 0")
    names = [s for s, _, _ in REAL_SYMBOLS[:n]]
    names += [f"SYM{i:03d}USDT" for i in range(1, n - len(names) + 1)]
    return names


class SimFeed:
    def __init__(self, exchange: str, symbols: Sequence[str], bus: EventBus, market: MarketState, *,
                 seed: int = 0, updates_per_second: float = 4.0, trades_per_second: float = 2.0,
                 jump_rate: float = 1.0 / 7200.0, jump_size: float = 0.005,
                 burst_rate: float = 1.0 / 300.0, burst_seconds: float = 10.0, burst_factor: float = 5.0,
                 spread_bps: float = 1.0, depth_levels: int = 10, funding_interval: float = 8 * 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        if not symbols:
            raise ValueError(f"sim exchange {exchange!r}: expected at least one symbol")
        if not 0 < updates_per_second <= 20:
            raise ValueError(f"updates_per_second {updates_per_second!r}: expected 0 < x <= 20 per symbol")
        self.exchange = exchange
        self.symbols = list(symbols)
        self.bus = bus
        self.market = market
        self.stats = market.feed(exchange)
        self.interval = 1.0 / updates_per_second
        self.trades_per_second = trades_per_second
        self.jump_rate, self.jump_size = jump_rate, jump_size
        self.burst_rate, self.burst_seconds, self.burst_factor = burst_rate, burst_seconds, burst_factor
        self.half_spread = spread_bps / 2e4
        self.depth_levels = depth_levels
        self.funding_interval = funding_interval
        self.clock = clock
        self._rng = np.random.default_rng(seed)
        known = {s: (p, v) for s, p, v in REAL_SYMBOLS}
        n = len(self.symbols)
        start, vol = np.empty(n), np.empty(n)
        for i, sym in enumerate(self.symbols):
            if sym in known:
                start[i], vol[i] = known[sym]
            else:
                start[i], vol[i] = float(self._rng.uniform(1.0, 100.0)), float(self._rng.uniform(0.6, 1.4))
        self.log_price = np.log(start)
        self.sigma = vol / math.sqrt(_SECONDS_PER_YEAR)  # per sqrt(second)
        self.funding = self._rng.normal(0.0001, 0.00005, n)
        self._burst_until = np.zeros(n)
        self._shocks: list[tuple[np.ndarray, float, float, float]] = []  # (mask, start, end, log drop)
        self._paused_until = 0.0
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._states = [market.symbol(exchange, s) for s in self.symbols]
        self._last_mark = 0.0
        self._last_tick = 0.0

    def start_from(self, prices: dict[str, float]) -> None:
        """Continue the walk of the given symbols from these prices (a restart resumes the journal's
        last marks: the simulated market does not jump back when the trader restarts)."""
        for symbol, price in prices.items():
            if symbol in self._index and price > 0:
                self.log_price[self._index[symbol]] = math.log(price)

    def use_simulated_time(self, clock: Callable[[], float]) -> None:
        """Run on ``clock`` (``trader.simclock``): its loop makes each step's sleep free of wall time."""
        self.clock = clock

    # --- drill hooks ----------------------------------------------------------------------

    def shock(self, symbol: str | None = None, drop_ratio: float = 0.35, over_seconds: float = 60.0) -> None:
        if not 0.0 < drop_ratio < 1.0:
            raise ValueError(f"drop_ratio {drop_ratio!r}: expected 0 < x < 1 (0.35 = a 35 % fall)")
        if not over_seconds > 0:
            raise ValueError(f"over_seconds {over_seconds!r}: expected > 0")
        mask = np.ones(len(self.symbols), dtype=bool)
        if symbol is not None:
            if symbol not in self._index:
                raise ValueError(f"symbol {symbol!r}: not simulated on {self.exchange} (have {self.symbols[:5]}...)")
            mask[:] = False
            mask[self._index[symbol]] = True
        now = self.clock()
        self._shocks.append((mask, now, now + over_seconds, math.log(1.0 - drop_ratio)))
        _log.info("simulated price shock", extra={"exchange": self.exchange, "symbol": symbol or "*",
                                                  "drop_ratio": drop_ratio, "over_seconds": over_seconds})

    def pause(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"pause seconds {seconds!r}: expected > 0")
        self._paused_until = self.clock() + seconds

    def resume(self) -> None:
        self._paused_until = 0.0

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        self.start()
        try:
            while True:
                await asyncio.sleep(self.interval)
                self.tick()
        except asyncio.CancelledError:
            self.stop()
            raise

    def start(self) -> None:
        """Connect: the walk starts from the clock's time now."""
        self._last_tick = self.clock()
        self._connect()

    def tick(self) -> None:
        """Move every price from the previous tick to the clock's time now and publish what a
        real exchange would have sent; during an outage (``pause``) prices move, nothing is sent."""
        last, now = self._last_tick, self.clock()
        self._last_tick = now
        if now < self._paused_until:
            if self.stats.connected:
                self.stats.mark_disconnected("backoff", "simulated outage")
                self.bus.publish(FeedDisconnected(self.exchange, now, "simulated outage"))
                _log.warning("feed unavailable (simulated outage)", extra={"exchange": self.exchange})
            self._walk(last, now)  # prices move on while nobody listens
            return
        if not self.stats.connected:
            self._connect()
        self._step(last, now)

    def stop(self) -> None:
        """Disconnect, as a cancelled ``run()`` does."""
        if self.stats.connected:
            self.bus.publish(FeedDisconnected(self.exchange, self.clock(), "stopped"))
        self.stats.mark_disconnected("stopped", None)

    def _connect(self) -> None:
        self.stats.mark_connected(self.clock())
        self.bus.publish(FeedConnected(self.exchange, self.clock()))
        _log.info("feed connected (simulated)", extra={"exchange": self.exchange, "symbols": len(self.symbols)})

    def _walk(self, last: float, now: float) -> np.ndarray:
        """Advance every price from ``last`` to ``now``; returns the per-symbol shock move."""
        dt = max(now - last, 1e-6)
        n = len(self.symbols)
        rng = self._rng
        step = -0.5 * self.sigma ** 2 * dt + self.sigma * math.sqrt(dt) * rng.standard_normal(n)
        jumps = rng.random(n) < self.jump_rate * dt
        if jumps.any():
            step += jumps * rng.normal(0.0, self.jump_size, n)
        shock_move = np.zeros(n)
        for mask, start, end, log_drop in self._shocks:
            overlap = min(now, end) - max(last, start)
            if overlap > 0:
                shock_move += mask * (log_drop * overlap / (end - start))
        self._shocks = [s for s in self._shocks if s[2] > now]
        self.log_price += step + shock_move
        return shock_move

    def _step(self, last: float, now: float) -> None:
        shock_move = self._walk(last, now)
        dt = now - last
        rng = self._rng
        prices = np.exp(self.log_price)
        bursts = rng.random(len(prices)) < self.burst_rate * dt
        self._burst_until[bursts] = now + self.burst_seconds
        in_burst = self._burst_until > now
        trade_counts = rng.poisson(self.trades_per_second * dt * np.where(in_burst, self.burst_factor, 1.0))
        publish = self.bus.publish
        ex = self.exchange
        stats = self.stats
        for i, s in enumerate(self._states):
            mid = float(prices[i])
            half = mid * self.half_spread
            bid, ask = mid - half, mid + half
            size = float(rng.exponential(1.0)) * 10_000.0 / mid  # about 10k USDT at the touch
            s.bid, s.bid_quantity, s.ask, s.ask_quantity, s.quote_ts = bid, size, ask, size, now
            s.last_message_ts = now
            publish(Quote(ex, s.symbol, now, now, bid, size, ask, size))
            tick = mid * 0.0001
            levels = self.depth_levels
            s.book.replace([(bid - k * tick, size * (1 + k)) for k in range(levels)],
                           [(ask + k * tick, size * (1 + k)) for k in range(levels)])
            publish(DepthUpdate(ex, s.symbol, now, now))
            stats.messages += 2
            for _ in range(int(trade_counts[i])):
                buy = rng.random() < 0.5
                qty = float(rng.exponential(2_000.0)) / mid * (self.burst_factor if in_burst[i] else 1.0)
                price = ask if buy else bid
                s.last_price, s.last_quantity, s.last_trade_ts = price, qty, now
                publish(Trade(ex, s.symbol, now, now, price, qty, "buy" if buy else "sell"))
                stats.messages += 1
            if shock_move[i] < 0 and rng.random() < 0.3:
                qty = float(rng.exponential(50_000.0)) / mid
                s.liquidations["sell"] += 1
                publish(MarketLiquidation(ex, s.symbol, now, "sell", bid, qty))
                stats.messages += 1
        if now - self._last_mark >= 1.0:
            self._last_mark = now
            self._marks(prices, now)

    def _marks(self, prices: np.ndarray, now: float) -> None:
        self.funding += self._rng.normal(0.0, 0.000002, len(self.funding))
        np.clip(self.funding, -0.0075, 0.0075, out=self.funding)  # Binance's usual funding cap
        next_funding = (math.floor(now / self.funding_interval) + 1) * self.funding_interval
        for i, s in enumerate(self._states):
            mark = float(prices[i])
            s.mark_price, s.index_price = mark, mark
            s.funding_rate, s.next_funding_ts = float(self.funding[i]), next_funding
            self.bus.publish(MarkPrice(self.exchange, s.symbol, now, mark, mark, s.funding_rate, next_funding))
            self.stats.messages += 1
