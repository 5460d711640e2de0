"""Market-data family: feed health, message counts, staleness, prices, anomalies.

Per-exchange figures come from the snapshot's feeds, per-symbol ones from its markets. A price or
funding rate the exchange has not sent yet is absent, as is the last-message time of a symbol
that has had no message. Usage: ``MarketDataCollector(trader.snapshot, registry=registry)``.
"""

from __future__ import annotations

from exporters.collector import Collector
from exporters.families import MetricSpec, known_then_seen
from trader.snapshot import TraderSnapshot
from trader.vocabulary import ANOMALY_REASONS, FEED_REJECT_REASONS, SIDES

__all__ = ["MarketDataCollector"]

_E = ("exchange",)
_ES = ("exchange", "symbol")

FEED_UP = MetricSpec("trader_feed_up", "gauge", "1 while the exchange WebSocket is connected and subscribed, else 0.",
                     _E, unit="", requirement="WebSocket up (002 disconnected > 1 min)", series="E")
FEED_RECONNECTS = MetricSpec("trader_feed_reconnects_total", "counter", "WebSocket reconnections.",
                             _E, unit="", requirement="WebSocket reconnects (002)", series="E")
FEED_MESSAGES = MetricSpec("trader_feed_messages_total", "counter", "Market-data messages read.",
                           _E, unit="", requirement="anomaly rate denominator, WebSocket uptime (001, 002)", series="E")
FEED_REJECTED = MetricSpec("trader_feed_messages_rejected_total", "counter",
                           "Market-data messages rejected, by reason.",
                           ("exchange", "reason"), unit="", requirement="errors by exchange (000, 002)",
                           series=f"E*{len(FEED_REJECT_REASONS)}")
FEED_SEQUENCE_GAPS = MetricSpec("trader_feed_sequence_gaps_total", "counter",
                                "Order-book sequence gaps that forced a resync.", _ES, unit="",
                                requirement="market-data integrity (001 stale prices)", series="M")
FEED_LAST_MESSAGE = MetricSpec("trader_feed_last_message_timestamp_seconds", "gauge",
                               "Local receive time (Unix seconds) of the last message for the symbol.", _ES,
                               unit="seconds", requirement="market-data staleness (001 stale prices)", series="M")
MARK_PRICE = MetricSpec("trader_mark_price_usdt", "gauge", "Exchange mark price.", _ES,
                        unit="usdt", requirement="prices for liquidation distance (001)", series="M")
FUNDING_RATE = MetricSpec("trader_funding_rate", "gauge", "Funding rate per funding interval (0.0001 = 0.01 %).", _ES,
                          unit="", requirement="funding PnL (001)", series="M")
ANOMALY_CHECKS = MetricSpec("trader_anomaly_checks_total", "counter", "Market-data anomaly checks run.", _ES,
                            unit="", requirement="anomaly rate denominator (001 > 1 %)", series="M")
ANOMALIES = MetricSpec("trader_anomalies_total", "counter", "Market-data anomalies by detector.",
                       ("exchange", "symbol", "reason"), unit="",
                       requirement="anomaly counts: z-score > 3, price change > 5 %, volume spike > 2x, price spike (003)",
                       series=f"M*{len(ANOMALY_REASONS)}")
MARKET_LIQUIDATIONS = MetricSpec("trader_market_liquidations_total", "counter",
                                 "Forced liquidations the exchange published (not ours), by side.",
                                 ("exchange", "symbol", "side"), unit="", requirement="market liquidations (001)",
                                 series=f"M*{len(SIDES)}")


class MarketDataCollector(Collector):
    specs = (FEED_UP, FEED_RECONNECTS, FEED_MESSAGES, FEED_REJECTED, FEED_SEQUENCE_GAPS, FEED_LAST_MESSAGE,
             MARK_PRICE, FUNDING_RATE, ANOMALY_CHECKS, ANOMALIES, MARKET_LIQUIDATIONS)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        symbols: dict[str, list[str]] = {}
        for market in snapshot.markets:
            symbols.setdefault(market.exchange, []).append(market.symbol)
        for feed in snapshot.feeds:
            exchange = feed.exchange
            add(FEED_UP, (exchange,), 1 if feed.connected else 0)
            add(FEED_RECONNECTS, (exchange,), feed.reconnects)
            add(FEED_MESSAGES, (exchange,), feed.messages)
            for reason in known_then_seen(FEED_REJECT_REASONS, feed.rejected):
                add(FEED_REJECTED, (exchange, reason), feed.rejected.get(reason, 0))
            for symbol in known_then_seen(symbols.get(exchange, ()), feed.sequence_gaps):
                add(FEED_SEQUENCE_GAPS, (exchange, symbol), feed.sequence_gaps.get(symbol, 0))
        for market in snapshot.markets:
            key = (market.exchange, market.symbol)
            if market.last_message_ts is not None:
                add(FEED_LAST_MESSAGE, key, market.last_message_ts)
            if market.mark_price is not None:
                add(MARK_PRICE, key, market.mark_price)
            if market.funding_rate is not None:
                add(FUNDING_RATE, key, market.funding_rate)
            add(ANOMALY_CHECKS, key, market.anomaly_checks)
            for reason in known_then_seen(ANOMALY_REASONS, market.anomalies):
                add(ANOMALIES, (*key, reason), market.anomalies.get(reason, 0))
            for side in known_then_seen(SIDES, market.liquidations):
                add(MARKET_LIQUIDATIONS, (*key, side), market.liquidations.get(side, 0))
