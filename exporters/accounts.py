"""Exchange accounts family: how the watch of each real account goes (staleness, rate limits).

The money figures of an exchange account are the trading and risk families' own series, under
the same names as a paper account's. This family holds what only a watched account has, from
``snapshot.account_watch`` (present from start, before the first read):

- ``trader_account_last_success_timestamp_seconds``: the last complete read, or when watching
  began, so ``time() - ...`` is the age of the figures even for an account never read;
- ``trader_api_rate_limit_usage_ratio``: the exchange's own usage of its rate limit, absent until
  it reports one.

Usage: ``AccountWatchCollector(trader.snapshot, registry=registry)``.
"""

from __future__ import annotations

from exporters.collector import Collector
from exporters.families import MetricSpec
from trader.snapshot import TraderSnapshot

__all__ = ["AccountWatchCollector"]

_ACCOUNT_EXCHANGE = ("account", "exchange")

LAST_SUCCESS = MetricSpec(
    "trader_account_last_success_timestamp_seconds", "gauge",
    "When the exchange account was last read completely (Unix seconds); before the first read, when watching began.",
    _ACCOUNT_EXCHANGE, unit="seconds", requirement="account staleness: not read successfully for N (issue 14)",
    series="A", absent="without an exchange account")
RATE_LIMIT_USAGE = MetricSpec(
    "trader_api_rate_limit_usage_ratio", "gauge",
    "The exchange's own rate-limit usage for the account's requests, 0..1 of the limit (the busiest endpoint).",
    _ACCOUNT_EXCHANGE, unit="ratio", requirement="exchange rate-limit usage before it refuses (issue 14)",
    series="A", absent="without an exchange account, or until the exchange reports a usage")


class AccountWatchCollector(Collector):
    specs = (LAST_SUCCESS, RATE_LIMIT_USAGE)

    def emit(self, snapshot: TraderSnapshot, state: None, sink) -> None:
        for watch in snapshot.account_watch:
            labels = (watch.account, watch.exchange)
            sink.add(LAST_SUCCESS, labels, watch.last_success_ts)
            if watch.rate_limit_usage_ratio is not None:
                sink.add(RATE_LIMIT_USAGE, labels, watch.rate_limit_usage_ratio)
