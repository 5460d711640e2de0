"""Execution family: orders by status and type, rejections by reason, API requests, and
latency/slippage histograms.

Order and API counts come from the snapshot. The endpoints are the ones the trader declares (its
``ApiStats.declare`` puts them in ``snapshot.api_requests`` at zero), so both statuses and the
duration histogram of every declared endpoint exist before its first request. The histograms
observe the trader's events on its bus (``OrderAccepted.latency``, ``OrderFilled.slippage_bps``,
``ApiRequest.duration``); the handlers run on the market-data path, so each is one bisect and two
additions.

Buckets, and why: see ``BUCKETS_WHY`` (also printed in ``docs/metrics.md``).

Usage: ``OrdersCollector(trader.snapshot, registry=registry)`` and
``ExecutionEvents(trader.bus, trader.snapshot, registry=registry)``.
"""

from __future__ import annotations

from prometheus_client.registry import CollectorRegistry

from exporters.collector import Collector, SnapshotSource, exchanges_of, markets_of
from exporters.families import HistogramState, MetricSpec, known_then_seen
from trader.bus import EventBus
from trader.events import ApiRequest, OrderAccepted, OrderFilled
from trader.snapshot import TraderSnapshot
from trader.vocabulary import API_ERROR_REASONS, API_STATUSES, ORDER_STATUSES, ORDER_TYPES, REJECT_REASONS, SIDES

__all__ = ["OrdersCollector", "ExecutionEvents", "LATENCY_BUCKETS", "SLIPPAGE_BUCKETS"]

BUCKETS_WHY = """\
Latency (order acknowledgement and API request), seconds, 5 ms .. 5 s: the alert threshold
(500 ms, source documents 000 and 002) is a bucket bound, so the share of requests slower than it
is exact; 5-100 ms resolves the simulated broker and a healthy exchange; 1-5 s shows outages and
the latency drill. Slippage, basis points, 0 .. 250: the alert threshold (50 bps, source document
001) is a bound; 1-10 bps is where normal taker fills land. Favourable fills count as 0 bps of
adverse slippage: the metric is adverse slippage, and OpenMetrics forbids a negative histogram sum."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SLIPPAGE_BUCKETS = (0.0, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0)

ORDERS = MetricSpec("trader_orders_total", "counter", "Orders by status (submitted, filled, rejected, canceled).",
                    ("account", "exchange", "symbol", "side", "status"), unit="",
                    requirement="orders by exchange/symbol/side/status, fill rate (001)",
                    series=f"A*M*{len(SIDES)}*{len(ORDER_STATUSES)}")
ORDERS_BY_TYPE = MetricSpec("trader_orders_by_type_total", "counter", "Orders by order type and status.",
                            ("account", "exchange", "order_type", "status"), unit="",
                            requirement="post-only success, fill rate (001)",
                            series=f"A*E*{len(ORDER_TYPES)}*{len(ORDER_STATUSES)}")
# The reason tells a real placement failure (vocabulary.PLACEMENT_FAILURE_REASONS: what
# TraderOrderFailuresHigh counts) from the order type doing its job (reduce_only, post_only_would_take).
ORDER_REJECTIONS = MetricSpec("trader_order_rejections_total", "counter",
                              "Orders the broker rejected, by reason (trader.vocabulary.REJECT_REASONS).",
                              ("account", "exchange", "reason"), unit="",
                              requirement="order placement failures (002 > 5 %) told from benign rejections",
                              series=f"A*E*{len(REJECT_REASONS)}")
API_REQUESTS = MetricSpec("trader_api_requests_total", "counter", "Exchange API requests by outcome.",
                          ("exchange", "endpoint", "status"), unit="",
                          requirement="API requests and errors by exchange and endpoint (000 > 5 %, 001 > 1 %)",
                          series=f"N*{len(API_STATUSES)}")
# Why exchange-account requests failed (trader/accounts/errors.py): the bounded reasons of
# vocabulary.API_ERROR_REASONS, at zero from start for every endpoint an account declares.
API_ERRORS = MetricSpec("trader_api_errors_total", "counter",
                        "Failed exchange-account API requests by reason (trader.vocabulary.API_ERROR_REASONS).",
                        ("exchange", "endpoint", "reason"), unit="",
                        requirement="API errors by class: auth, region, rate limits, clock... (issue 14)",
                        series=f"N*{len(API_ERROR_REASONS)}", absent="without an exchange account")
ORDER_LATENCY = MetricSpec("trader_order_latency_seconds", "histogram", "Order submission to acknowledgement.",
                           ("exchange",), unit="seconds", buckets=LATENCY_BUCKETS,
                           requirement="order latency (000, 002 > 500 ms)", series="E*13")
SLIPPAGE = MetricSpec("trader_slippage_bps", "histogram",
                      "Adverse slippage of taker fills against the mid at submission (a stop's: at its trigger), in basis points.",
                      ("account", "exchange"), unit="bps", buckets=SLIPPAGE_BUCKETS,
                      requirement="slippage bps (001 > 50 bps)", series="A*E*12")
API_DURATION = MetricSpec("trader_api_request_duration_seconds", "histogram", "Exchange API request duration.",
                          ("exchange", "endpoint"), unit="seconds", buckets=LATENCY_BUCKETS,
                          requirement="API latency by exchange and endpoint (000, 002 > 500 ms)", series="N*13")


def _endpoints(snapshot: TraderSnapshot) -> list[tuple[str, str]]:
    """(exchange, endpoint) pairs the trader declared or used."""
    return list(dict.fromkeys((exchange, endpoint) for exchange, endpoint, _ in snapshot.api_requests))


class OrdersCollector(Collector):
    specs = (ORDERS, ORDERS_BY_TYPE, ORDER_REJECTIONS, API_REQUESTS, API_ERRORS)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        add = sink.add
        markets = markets_of(snapshot)
        exchanges = exchanges_of(snapshot)
        for account in snapshot.accounts:
            name = account.name
            known = [(e, s, side, status) for e, s in markets for side in SIDES for status in ORDER_STATUSES]
            for key in known_then_seen(known, account.orders):
                add(ORDERS, (name, *key), account.orders.get(key, 0))
            known = [(e, t, status) for e in exchanges for t in ORDER_TYPES for status in ORDER_STATUSES]
            for key in known_then_seen(known, account.orders_by_type):
                add(ORDERS_BY_TYPE, (name, *key), account.orders_by_type.get(key, 0))
            known = [(e, reason) for e in exchanges for reason in REJECT_REASONS]
            for key in known_then_seen(known, account.rejections):
                add(ORDER_REJECTIONS, (name, *key), account.rejections.get(key, 0))
        known = [(e, endpoint, status) for e, endpoint in _endpoints(snapshot) for status in API_STATUSES]
        for key in known_then_seen(known, snapshot.api_requests):
            add(API_REQUESTS, key, snapshot.api_requests.get(key, 0))
        for key, count in snapshot.api_errors.items():  # declared at zero by each exchange account
            add(API_ERRORS, key, count)


class ExecutionEvents(Collector):
    """Histograms fed by the trader's events; series for configured exchanges exist before the first."""

    specs = (ORDER_LATENCY, SLIPPAGE, API_DURATION)

    def __init__(self, bus: EventBus, source: SnapshotSource, registry: CollectorRegistry | None = None) -> None:
        self.latency = HistogramState(ORDER_LATENCY)
        self.slippage = HistogramState(SLIPPAGE)
        self.api = HistogramState(API_DURATION)
        bus.subscribe(OrderAccepted, self._on_accepted)
        bus.subscribe(OrderFilled, self._on_filled)
        bus.subscribe(ApiRequest, self._on_api_request)
        super().__init__(source, registry)

    def _on_accepted(self, event: OrderAccepted) -> None:
        self.latency.observe((event.exchange,), event.latency)

    def _on_filled(self, event: OrderFilled) -> None:
        if event.slippage_bps is not None:  # None: a maker fill has no slippage
            self.slippage.observe((event.account, event.exchange), max(event.slippage_bps, 0.0))

    def _on_api_request(self, event: ApiRequest) -> None:
        self.api.observe((event.exchange, event.endpoint), event.duration)

    @property
    def dropped(self) -> int:
        return self.latency.dropped + self.slippage.dropped + self.api.dropped

    def capture(self) -> tuple[dict, dict, dict]:
        return self.latency.copy(), self.slippage.copy(), self.api.copy()

    def emit(self, snapshot: TraderSnapshot, state: tuple[dict, dict, dict], sink) -> None:
        latency, slippage, api = state
        exchanges = exchanges_of(snapshot)
        accounts = [a.name for a in snapshot.accounts]
        for spec, rows, known in (
            (ORDER_LATENCY, latency, [(e,) for e in exchanges]),
            (SLIPPAGE, slippage, [(a, e) for a in accounts for e in exchanges]),
            (API_DURATION, api, _endpoints(snapshot)),
        ):
            empty = [0] * (len(spec.buckets) + 1) + [0.0]
            for key in known_then_seen(known, rows):
                sink.histogram(spec, key, rows.get(key, empty))
