"""The only way the trader talks to an exchange account: a fixed list of GET endpoints, nothing else.

``ReadOnlyClient`` wraps a ccxt client. Its whole public surface is ``get(endpoint)``,
``set_time_offset()`` and ``close()``: no method places, changes or cancels an order, withdraws
or transfers. Three locks, so a mistake elsewhere cannot become an order:

- the allow-list: each adapter names its reads (``"account": "fapiprivatev3_get_account"``), and
  every name must be one of ccxt's implicit *GET* methods; ``get()`` calls nothing else;
- the wire: the ccxt client's ``fetch`` is replaced by one that refuses any HTTP method but GET
  before a byte leaves, so even a direct call on the wrapped client cannot send an order;
- the tests: ``tests/exchange_accounts/`` check that this package never names an order method
  and that the stand-in exchanges receive no order request.

Every failure comes out as an ``AccountApiError`` with a bounded reason and scrubbed text (no
key, secret, signature or query string), raised ``from None`` so no traceback carries ccxt's
message either. ccxt's own logger is held at WARNING: at DEBUG it prints signed URLs and headers.

    reads = {"account": "fapiprivatev3_get_account", "time": "fapipublic_get_time"}
    api = ReadOnlyClient("binance", ccxt_client, reads, credentials.secrets(), adapter)
    reply = await api.get("account")          # Reply(body, headers, status)
    await api.close()
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Mapping, NamedTuple, Protocol

from trader.accounts.errors import AccountApiError, reason_for_exception, reason_for_status, scrub
from trader.vocabulary import ApiErrorReason

__all__ = ["ReadOnlyClient", "Reply", "ErrorInterpreter", "READ_METHOD"]

# ccxt's implicit API methods are named <api>_<http method>_<path>: only GETs may be listed.
READ_METHOD = re.compile(r"[a-z0-9]+_get_[a-z0-9_]+")
logging.getLogger("ccxt").setLevel(logging.WARNING)


class Reply(NamedTuple):
    body: Any  # the decoded JSON (a dict or a list)
    headers: Mapping[str, str]
    status: int | None
    seconds: float  # on the wire: request sent to response read (ccxt's own throttling left out)


class ErrorInterpreter(Protocol):
    """What the adapter knows about its exchange's errors."""

    def code_reason(self, body: str) -> ApiErrorReason | None: ...  # the exchange's error code, as a reason
    def retry_after(self, headers: Mapping[str, str]) -> float | None: ...  # seconds it asked us to wait


class ReadOnlyClient:
    __slots__ = ("exchange", "__client", "_reads", "_secrets", "_interpreter", "_status", "_headers", "_body",
                 "_sent_at", "_answered_at")

    def __init__(self, exchange: str, client: Any, reads: Mapping[str, str], secrets: tuple[str, ...],
                 interpreter: ErrorInterpreter) -> None:
        for endpoint, method in reads.items():
            if not READ_METHOD.fullmatch(method) or not callable(getattr(client, method, None)):
                raise ValueError(f"{exchange} read {endpoint!r}: {method!r} is not one of ccxt's implicit GET methods")
        self.exchange = exchange
        self.__client = client
        self._reads = dict(reads)
        self._secrets = secrets
        self._interpreter = interpreter
        self._status: int | None = None
        self._headers: dict[str, str] = {}
        self._body = ""
        self._sent_at: float | None = None
        self._answered_at: float | None = None
        # Instance attributes win over ccxt's methods: every response passes _observe first, and
        # every request passes the GET-only fetch.
        client.on_rest_response = self._observe
        client.fetch = _get_only(client.fetch, exchange, self._sent)

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(self._reads)

    def _sent(self) -> None:
        self._sent_at = time.monotonic()

    def _observe(self, code, reason, url, method, response_headers, response_body, request_headers, request_body):
        self._answered_at = time.monotonic()
        self._status = code
        self._headers = dict(response_headers or {})
        self._body = response_body or ""
        return (response_body or "").strip()  # what ccxt's own on_rest_response returns

    async def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Reply:
        """Read ``endpoint`` (one of the adapter's reads); AccountApiError on any failure."""
        method = self._reads.get(endpoint)
        if method is None:
            raise ValueError(f"{self.exchange}: {endpoint!r} is not an allowed read ({', '.join(self._reads)})")
        self._status, self._headers, self._body = None, {}, ""
        self._sent_at = self._answered_at = None
        try:
            body = await getattr(self.__client, method)(dict(params or {}))
        except Exception as exc:  # ccxt's, aiohttp's, a timeout: all become one scrubbed error
            raise self._failure(endpoint, exc) from None
        if not isinstance(body, (dict, list)):
            raise AccountApiError(endpoint, "malformed", f"HTTP {self._status}: the body is not a JSON object",
                                  status=self._status, seconds=self._wire_seconds())
        return Reply(body, dict(self._headers), self._status, self._wire_seconds())

    def _wire_seconds(self) -> float:
        if self._sent_at is None:
            return 0.0
        return (self._answered_at or time.monotonic()) - self._sent_at

    def _failure(self, endpoint: str, exc: BaseException) -> AccountApiError:
        answered = self._status is not None
        reason = (self._interpreter.code_reason(self._body) if answered else None) \
            or reason_for_status(self._status) or reason_for_exception(exc, answered)
        retry_after = self._interpreter.retry_after(self._headers) if answered else None
        status = f"HTTP {self._status} " if answered else ""
        detail = scrub(f"{status}{type(exc).__name__}: {exc}", self._secrets)
        return AccountApiError(endpoint, reason, detail, status=self._status, retry_after=retry_after,
                               seconds=self._wire_seconds())

    def set_time_offset(self, local_minus_server_ms: float) -> None:
        """Sign with the exchange's clock: ccxt subtracts this from the local time in every request."""
        self.__client.options["timeDifference"] = int(local_minus_server_ms)

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    async def close(self) -> None:
        try:
            await self.__client.close()
        except Exception:  # closing a session that never opened, or twice: nothing to do
            pass


def _get_only(fetch, exchange: str, sent):
    async def fetch_get_only(url, method="GET", headers=None, body=None):
        if str(method).upper() != "GET":
            raise PermissionError(f"{exchange}: read-only account: refused a {method} request")
        sent()
        return await fetch(url, method, headers, body)

    return fetch_get_only
