"""Why a read of an exchange account failed, as one bounded word, and error text that holds no secret.

Every failed request becomes an ``AccountApiError`` whose ``reason`` is one of
``vocabulary.API_ERROR_REASONS`` (the ``reason`` label of ``trader_api_errors_total``). The
reason is decided in this order, most specific first:

1. the exchange's own error code in the body (each adapter's ``ERROR_CODES``: Binance ``-1021``
   is ``timestamp``, Bybit ``10003`` is ``auth``...);
2. the HTTP status: 401 ``auth``; 403 and 451 ``region`` (the exchange refuses this country or
   IP); 418 and 429 ``rate_limited``; 408 ``timeout``; 5xx ``server``;
3. what failed when no answer came: a timeout is ``timeout``, a refused or lost connection or a
   DNS failure is ``network``; an answer we cannot read (not JSON, a field missing or not a
   number) is ``malformed``.

ccxt puts the request URL in its exception messages, and Binance signs in the query string, so
``scrub`` removes every URL's query and every secret the account holds before text goes anywhere:

    >>> scrub("binanceusdm GET http://127.0.0.1:9/fapi/v3/account?timestamp=1&signature=ab12 400 KEY123",
    ...       secrets=("KEY123",))
    'binanceusdm GET http://127.0.0.1:9/fapi/v3/account?<query removed> 400 <redacted>'
    >>> reason_for_status(451), reason_for_status(429), reason_for_status(502), reason_for_status(400)
    ('region', 'rate_limited', 'server', None)
"""

from __future__ import annotations

import asyncio
import re
from typing import Iterable

from trader.vocabulary import ApiErrorReason

__all__ = ["AccountApiError", "KeyRefused", "Malformed", "scrub", "reason_for_status", "reason_for_exception"]

_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
# Signature-like parameters outside a URL (a body echoed back): key=value up to a separator.
_SIGNED_PARAMS = re.compile(r"\b(signature|sign|apiKey|api_key|passphrase)=[^&\s\"']+", re.IGNORECASE)
_MAX_DETAIL = 240


class Malformed(ValueError):
    """An answer that is not what the exchange documents (not JSON, a field missing or not a number)."""


class AccountApiError(Exception):
    """A failed read. ``str()`` is one scrubbed line: the endpoint, the reason, what happened."""

    def __init__(self, endpoint: str, reason: ApiErrorReason, detail: str, *, status: int | None = None,
                 retry_after: float | None = None, seconds: float = 0.0) -> None:
        super().__init__(f"{endpoint}: {reason}: {detail}")
        self.endpoint = endpoint
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retry_after = retry_after  # seconds the exchange asked us to wait (Retry-After), if it said
        self.seconds = seconds  # on the wire, until the failure


class KeyRefused(Exception):
    """The exchange says the key may withdraw: the account is not watched. ``str()`` is the one line."""


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any URL's query string, signature-like parameters or the given secrets,
    on one line of at most 240 characters."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    text = _QUERY.sub(r"\1?<query removed>", text)
    text = _SIGNED_PARAMS.sub(r"\1=<redacted>", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def reason_for_status(status: int | None) -> ApiErrorReason | None:
    """The reason an HTTP status alone gives, or None (a 400 needs the exchange's code)."""
    if status is None:
        return None
    if status == 401:
        return "auth"
    if status in (403, 451):
        return "region"
    if status in (418, 429):
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server"
    return None


def reason_for_exception(exc: BaseException, answered: bool) -> ApiErrorReason:
    """The reason an exception gives when neither the exchange's code nor the status did.

    ``answered``: an HTTP response arrived (so the failure is in what it said, not in reaching it).
    """
    from ccxt.base import errors  # ccxt is imported by the adapters that use this; keep config light

    if isinstance(exc, Malformed):
        return "malformed"
    if isinstance(exc, (errors.RequestTimeout, asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, errors.InvalidNonce):
        return "timestamp"
    if isinstance(exc, (errors.AuthenticationError, errors.PermissionDenied, errors.AccountSuspended)):
        return "auth"
    if isinstance(exc, (errors.RateLimitExceeded, errors.DDoSProtection)):
        return "rate_limited"
    if isinstance(exc, errors.BadResponse):
        return "malformed"
    if not answered and isinstance(exc, (errors.NetworkError, OSError)):
        return "network"
    return "server" if answered else "network"
