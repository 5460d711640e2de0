"""What an exchange account adapter implements, and the helpers that read wire fields safely.

One module per exchange (``binance.py``, ``bybit.py``, ``okx.py``), registered as the ``account``
of its entry in ``trader/exchanges.py``. An adapter is stateless about the account (the watcher
and ``ExchangeAccountState`` keep that) and talks only through a ``ReadOnlyClient``:

| hook | | what it does |
|---|---|---|
| ``reads`` | must | endpoint label -> ccxt implicit GET method; the allow-list of the facade and the ``endpoint`` label values |
| ``make_client(credentials, api_url, timeout)`` | must | the ccxt async client, its URLs pointed at ``api_url`` when given |
| ``permissions(api)`` | must | what the key may do (read, trade, withdraw), asked of the exchange |
| ``read(api)`` | must | balance and open positions: the fast part of a poll |
| ``history(api, since, vanished, now)`` | must | fills, cash flows, closed positions, liquidations from ``since.start(stream)`` on |
| ``server_time(body)`` | must | the exchange's clock (ms) from the ``time`` read, to resync after a timestamp error |
| ``ERROR_CODES`` / ``error_code(body)`` | must | the exchange's error codes that say more than the HTTP status |
| ``retry_after(headers)`` | may | seconds the exchange asked us to wait (default: ``Retry-After``) |
| ``rate_limit_usage(endpoint, headers, now)`` | must | the exchange's own rate-limit usage, 0..1 of the limit |
| ``budget_share(poll, history)`` | must | the share of the exchange's limit that polling at these intervals uses |

The wire helpers raise ``Malformed`` (the ``malformed`` reason) for anything the documentation
does not promise:

    >>> number({"equity": "12.5"}, "equity"), optional_number({"liqPrice": ""}, "liqPrice")
    (12.5, None)
    >>> number({"equity": "NaN"}, "equity")
    Traceback (most recent call last):
    ...
    trader.accounts.errors.Malformed: field 'equity' = 'NaN': expected a finite number
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

from trader.accounts.errors import Malformed
from trader.accounts.model import AccountReading, History, HistorySince, KeyPermissions
from trader.vocabulary import ApiErrorReason

__all__ = ["AccountAdapter", "MAX_BUDGET_SHARE", "header", "number", "optional_number", "text", "items", "seconds"]

# Polling may use at most this share of an exchange's rate limit: the rest is for the user's own
# bots on the same key or IP, and headroom when the exchange lowers a limit.
MAX_BUDGET_SHARE = 0.5


class AccountAdapter:
    exchange = ""
    title = ""
    reads: Mapping[str, str] = {}
    ERROR_CODES: Mapping[str, ApiErrorReason] = {}

    def make_client(self, credentials, api_url: str | None, timeout_seconds: float) -> Any:
        raise NotImplementedError

    async def permissions(self, api) -> KeyPermissions:
        raise NotImplementedError

    async def read(self, api) -> AccountReading:
        raise NotImplementedError

    async def history(self, api, since: HistorySince, vanished: Sequence[str], now: float) -> History:
        raise NotImplementedError

    def server_time(self, body: Any) -> float:
        raise NotImplementedError

    def error_code(self, body: Any) -> str | None:
        raise NotImplementedError

    def rate_limit_usage(self, endpoint: str, headers: Mapping[str, str], now: float) -> float | None:
        raise NotImplementedError

    def budget_share(self, poll_seconds: float, history_seconds: float) -> float:
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------

    def code_reason(self, body: str) -> ApiErrorReason | None:
        """The reason the exchange's error code in ``body`` gives, if it is one we know."""
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            return None
        code = self.error_code(decoded) if isinstance(decoded, (dict, list)) else None
        return self.ERROR_CODES.get(str(code)) if code is not None else None

    def retry_after(self, headers: Mapping[str, str]) -> float | None:
        value = header(headers, "Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A response header, whatever its case."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def number(obj: Any, key: str) -> float:
    """``obj[key]`` as a finite float (exchanges send numbers as strings)."""
    if not isinstance(obj, Mapping) or key not in obj:
        raise Malformed(f"field {key!r} is missing")
    value = obj[key]
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise Malformed(f"field {key!r} = {str(value)[:40]!r}: expected a number") from None
    if not math.isfinite(result):
        raise Malformed(f"field {key!r} = {str(value)[:40]!r}: expected a finite number")
    return result


def optional_number(obj: Any, key: str) -> float | None:
    """``obj[key]`` as a float, or None when absent or empty ("" is how exchanges say "none")."""
    if not isinstance(obj, Mapping) or obj.get(key) in (None, ""):
        return None
    return number(obj, key)


def text(obj: Any, key: str) -> str:
    if not isinstance(obj, Mapping) or key not in obj or obj[key] is None:
        raise Malformed(f"field {key!r} is missing")
    return str(obj[key])


def items(obj: Any, *path: str) -> list:
    """The list at ``obj[path[0]][path[1]]...``; Malformed if any step is not what it should be."""
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            raise Malformed(f"field {key!r} is missing")
        obj = obj[key]
    if not isinstance(obj, list):
        raise Malformed(f"field {'.'.join(path) or 'body'!r}: expected a list")
    return obj


def seconds(stamp: float) -> float:
    """Unix seconds from an exchange timestamp in ms (or in ns or µs: Bybit's closed PnL's
    ``createdTime`` comes in ns)."""
    if stamp > 1e17:
        return stamp / 1e9
    if stamp > 1e14:
        return stamp / 1e6
    return stamp / 1e3
