"""The trader: ``/readyz`` (each feed connected, or connecting or backing off) and the accounts it
trades, from its own ``/metrics`` (``trader_equity_usdt`` by ``account``).

Endpoints: the trader's HTTP API (``exporters/http.py``, documented in ``docs/metrics.md``).
``/readyz`` answers 200 or 503 with ``{"ready", "stale_after_seconds", "feeds": {exchange:
{"state", "connected", "last_message_age_seconds", "last_error", "ready"}}, "accounts":
{account: {"exchange", "state", "last_read_age_seconds", "last_error"}}}``. Not required for alerts: a feed
that is down is itself an alert (TraderFeedDown); whether Prometheus sees the trader at all is
the Prometheus "target trader" and "trader series" checks.

    >>> _feed_line({"state": "backoff", "connected": False, "last_message_age_seconds": 42.0})
    'backoff (not connected), last message 42.0 s ago'
    >>> _feed_line({"state": "backoff", "connected": False, "last_message_age_seconds": None,
    ...             "last_error": "ConnectionRefusedError: [Errno 111] Connect call failed"})
    'backoff (not connected), no message yet; last error: ConnectionRefusedError: [Errno 111] Connect call failed'
    >>> _watch_line({"exchange": "bybit", "state": "backoff", "last_read_age_seconds": 95.2, "last_error": "auth"})
    'bybit: backoff, last read 95 s ago; last error: auth'
"""

from __future__ import annotations

from doctor.checks import run_steps, service_fix
from doctor.http import BadAnswer, HttpClient, json_of
from doctor.metrics_text import by_label, samples
from doctor.result import Findings

__all__ = ["check"]

EQUITY = "trader_equity_usdt"


def _feed_line(feed: dict) -> str:
    age = feed.get("last_message_age_seconds")
    seen = "no message yet" if age is None else f"last message {age:.1f} s ago"
    state = feed.get("state", "?") + ("" if feed.get("connected") else " (not connected)")
    why = f"; last error: {feed['last_error']}" if feed.get("last_error") else ""
    return f"{state}, {seen}{why}"


def _watch_line(watch: dict) -> str:
    age = watch.get("last_read_age_seconds")
    read = "" if age is None else f", last read {age:.0f} s ago"
    why = f"; last error: {watch['last_error']}" if watch.get("last_error") else ""
    return f"{watch.get('exchange', '?')}: {watch.get('state', '?')}{read}{why}"


def check(http: HttpClient, url: str) -> Findings:
    found = Findings("Trader", url, required=False)
    api = url.rstrip("/")

    def feeds() -> None:
        body = json_of(http.get(f"{api}/readyz"), expect_status=(200, 503))
        if "feeds" not in body:
            raise BadAnswer(f"/readyz answered without feeds: {body.get('error', body)}")
        if not body["feeds"]:
            found.fail("feeds", "no feed configured", cause="the trader's config lists no exchange",
                       fix="check --exchanges / the config's feed section (python -m trader --help)")
        stale_after = body.get("stale_after_seconds", "?")
        for exchange, feed in sorted(body["feeds"].items()):
            if feed.get("ready"):
                found.ok(f"feed {exchange}", _feed_line(feed))
            else:
                found.fail(f"feed {exchange}", _feed_line(feed) + f" (ready needs a message within "
                           f"{stale_after} s)",
                           cause="the exchange's WebSocket is unreachable or refuses this IP; the trader keeps "
                                 "retrying with backoff", fix="docker compose logs --tail=50 trader | grep -i feed")
        for account, watch in sorted(body.get("accounts", {}).items()):
            if watch.get("state") == "watching" and not watch.get("last_error"):
                found.ok(f"exchange account {account}", _watch_line(watch))
            else:
                found.fail(f"exchange account {account}", _watch_line(watch),
                           cause="the exchange refuses the key (revoked, expired, IP not allowed, or it may "
                                 "withdraw) or is unreachable; see docs/runbooks/TraderAccountStale.md",
                           fix="docker compose logs --tail=50 trader | grep -i account")

    def accounts() -> None:
        equity = by_label(samples(http.get(f"{api}/metrics").text), EQUITY, "account")
        if equity:
            found.ok("accounts", ", ".join(f"{name} ({value:,.2f} USDT)" for name, value in sorted(equity.items())))
        else:
            found.fail("accounts", f"/metrics has no {EQUITY}: the trader trades no account",
                       cause="the trader's config defines no account", fix=service_fix("trader"))

    return run_steps(found, [("feeds", feeds), ("accounts", accounts)], compose_service="trader")
