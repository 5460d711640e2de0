"""Market-data anomaly detector (source document 003): z-score, price change, volume spike, price spike.

Trades are aggregated into 1-second bars per (exchange, symbol), on the exchange's timestamps (so
a replay at any speed finds the same anomalies). When a bar closes, it is checked against the
rolling window of the previous ``window`` bars (source document 003: 100 bars, at least 50 before judging):

- ``zscore``: the bar's return is more than ``zscore_threshold`` (3) standard deviations from the
  window's mean return, and moved at least ``zscore_min_move`` (0.1 %);
- ``price_change``: the close moved more than ``price_change_threshold`` (5 %) from the close
  ``price_change_bars`` (60) bars earlier: a 1-second bar almost never moves 5 %, a minute can;
- ``volume_spike``: the bar's volume is more than ``volume_spike_ratio`` (2x) the window's mean
  bar volume, its log-volume is a 3-sigma outlier of the window's, and the bar holds at least
  ``volume_spike_min_trades`` trades (one lone block trade is not a spike of activity);

On the calm 2024 Binance recordings (BTC, ETH) this flags about 1 % of the 1-second bars of BTC and
none of ETH; without the two refinements above it flagged 14 %.
- ``price_spike``: the bar's range (high - low) / open is more than ``price_spike_ratio`` (3x)
  the window's mean range and above ``price_spike_min_range`` (0.2 %): a wide bar.

Every closed bar past the warm-up counts one check (``SymbolState.anomaly_checks``); every
anomaly increments ``SymbolState.anomalies[reason]`` and publishes ``trader.events.Anomaly``.
Bars with no trade are skipped, not zero-filled.

    detector = AnomalyDetector(bus, market)   # subscribes to Trade on the bus
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trader.bus import EventBus
from trader.events import Anomaly, Trade
from trader.market import MarketState, SymbolState

__all__ = ["AnomalyDetector", "AnomalyConfig"]


@dataclass(frozen=True)
class AnomalyConfig:
    window: int = 100  # bars in the rolling window (source document 003: window_size=100)
    min_bars: int = 50  # source document 003: "at least 50 candles" before judging
    zscore_threshold: float = 3.0  # source document 003: z_score_threshold=3.0
    # A 1-second return must also move 0.1 %: in calm markets the window's std is a few basis
    # points and 3 sigma is noise (the calm 2024 BTC recording never moved 0.1 % in a second).
    zscore_min_move: float = 0.001
    price_change_threshold: float = 0.05  # source document 003: 5 % (as a ratio here)
    price_change_bars: int = 60  # the change is measured over one minute of 1-second bars
    volume_spike_ratio: float = 2.0  # source document 003: volume_spike_threshold=2.0
    volume_spike_min_trades: int = 5
    price_spike_ratio: float = 3.0  # range wider than 3x the window's mean range
    price_spike_min_range: float = 0.002  # and wider than 0.2 % of the price


class _Bars:
    """Rolling window of closed 1-second bars for one symbol, in numpy ring buffers."""

    __slots__ = ("second", "open", "high", "low", "close", "volume", "trades",
                 "returns", "volumes", "log_volumes", "ranges", "closes", "n", "i", "prev_close", "state")

    def __init__(self, window: int, closes: int, state: SymbolState) -> None:
        self.second = -1
        self.open = self.high = self.low = self.close = 0.0
        self.volume = 0.0
        self.trades = 0
        self.returns = np.zeros(window)
        self.volumes = np.zeros(window)
        self.log_volumes = np.zeros(window)
        self.ranges = np.zeros(window)
        self.closes = np.zeros(closes)  # a longer ring of closes for the price change
        self.n = 0  # closed bars so far
        self.i = 0
        self.prev_close = 0.0
        self.state = state


class AnomalyDetector:
    def __init__(self, bus: EventBus, market: MarketState, config: AnomalyConfig | None = None,
                 subscribe: bool = True) -> None:
        self.bus = bus
        self.market = market
        self.config = config or AnomalyConfig()
        self._bars: dict[tuple[str, str], _Bars] = {}
        if subscribe:
            bus.subscribe(Trade, self.on_trade)

    def on_trade(self, trade: Trade) -> None:
        key = (trade.exchange, trade.symbol)
        bars = self._bars.get(key)
        if bars is None:
            cfg = self.config
            bars = self._bars[key] = _Bars(cfg.window, cfg.price_change_bars + 1,
                                           self.market.symbol(trade.exchange, trade.symbol))
        second = int(trade.ts)
        price = trade.price
        if second != bars.second:
            if bars.second >= 0:
                self._close_bar(bars, trade.exchange, trade.symbol, float(bars.second + 1))
            bars.second = second
            bars.open = bars.high = bars.low = bars.close = price
            bars.volume = trade.quantity
            bars.trades = 1
            return
        if price > bars.high:
            bars.high = price
        elif price < bars.low:
            bars.low = price
        bars.close = price
        bars.volume += trade.quantity
        bars.trades += 1

    def _close_bar(self, b: _Bars, exchange: str, symbol: str, ts: float) -> None:
        cfg = self.config
        ret = b.close / b.prev_close - 1.0 if b.prev_close > 0 else 0.0
        rng = (b.high - b.low) / b.open
        window = min(b.n, cfg.window)
        if b.n > 0 and window >= cfg.min_bars:
            state = b.state
            state.anomaly_checks += 1
            returns = b.returns[:window]
            std = float(returns.std())
            if std > 0 and abs(ret) > cfg.zscore_min_move:
                z = abs(ret - float(returns.mean())) / std
                if z > cfg.zscore_threshold:
                    self._found(state, exchange, symbol, ts, "zscore", z, cfg.zscore_threshold)
            if b.n >= cfg.price_change_bars:
                then = b.closes[(b.n - cfg.price_change_bars) % len(b.closes)]
                change = abs(b.close / then - 1.0)
                if change > cfg.price_change_threshold:
                    self._found(state, exchange, symbol, ts, "price_change", change, cfg.price_change_threshold)
            mean_volume = float(b.volumes[:window].mean())
            if mean_volume > 0 and b.volume > 0 and b.trades >= cfg.volume_spike_min_trades:
                ratio = b.volume / mean_volume
                # 1-second volumes are heavy-tailed: 2x the mean alone flags ~1 bar in 8 of a
                # calm market, so the bar's log-volume must also be a 3-sigma outlier.
                log_volumes = b.log_volumes[:window]
                outlier = math.log(b.volume) > float(log_volumes.mean()) + cfg.zscore_threshold * float(log_volumes.std())
                if ratio > cfg.volume_spike_ratio and outlier:
                    self._found(state, exchange, symbol, ts, "volume_spike", ratio, cfg.volume_spike_ratio)
            mean_range = float(b.ranges[:window].mean())
            if rng > cfg.price_spike_min_range and rng > cfg.price_spike_ratio * mean_range:
                self._found(state, exchange, symbol, ts, "price_spike", rng, cfg.price_spike_min_range)
        # Only now does the bar join the window it was judged against.
        if b.n > 0:
            b.returns[b.i] = ret
            b.volumes[b.i] = b.volume
            b.log_volumes[b.i] = math.log(b.volume) if b.volume > 0 else 0.0
            b.ranges[b.i] = rng
            b.i = (b.i + 1) % cfg.window
        b.closes[b.n % len(b.closes)] = b.close
        b.n += 1
        b.prev_close = b.close

    def _found(self, state: SymbolState, exchange: str, symbol: str, ts: float, reason: str,
               value: float, threshold: float) -> None:
        state.anomalies[reason] += 1
        self.bus.publish(Anomaly(exchange, symbol, ts, reason, value, threshold))  # type: ignore[arg-type]
