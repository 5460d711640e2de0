"""The doctor's one HTTP client: every failure becomes a one-line exception, never a traceback.

``Unreachable`` means the service did not answer at all (refused, DNS, timeout): the service's
remaining checks are skipped and one line names it and its URL. ``BadAnswer`` means it answered
something its API does not promise (a 5xx, HTML instead of JSON, a missing field): that one check
fails and the next runs.

    >>> client = HttpClient(timeout=0.5)
    >>> try:
    ...     client.get("http://127.0.0.1:9/api")
    ... except Unreachable as error:
    ...     "cannot reach http://127.0.0.1:9/api" in str(error)
    True
"""

from __future__ import annotations

from typing import Any

import requests

__all__ = ["HttpClient", "Unreachable", "BadAnswer", "json_of"]


class Unreachable(Exception):
    """The service did not answer; ``str()`` is one line naming the URL and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url, self.reason = url, reason


class BadAnswer(Exception):
    """The service answered, but not what its API documents; ``str()`` is one line."""


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "no answer within the timeout"
    if isinstance(error, requests.ConnectionError):
        text = str(error)
        for known in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                      "No route to host", "Network is unreachable", "Connection reset"):
            if known in text:
                return known.lower()
        return "connection failed"
    return type(error).__name__


class HttpClient:
    """GET and POST with one timeout; ``auth`` is (user, password) for basic auth."""

    def __init__(self, timeout: float, session: requests.Session | None = None) -> None:
        self.timeout = timeout
        self._session = session or requests.Session()

    def get(self, url: str, *, params: dict | None = None, auth: tuple[str, str] | None = None) -> requests.Response:
        return self._send("GET", url, params=params, auth=auth)

    def post_json(self, url: str, body: Any) -> requests.Response:
        return self._send("POST", url, json=body)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise Unreachable(url, _reason(error)) from None


def json_of(response: requests.Response, *, expect_status: tuple[int, ...] = (200,)) -> Any:
    """The JSON body of ``response``, or ``BadAnswer`` naming the URL, the status and what came."""
    if response.status_code not in expect_status:
        raise BadAnswer(f"{response.request.method} {response.url} answered HTTP {response.status_code}: "
                        f"{_snippet(response.text)}")
    try:
        return response.json()
    except ValueError:
        raise BadAnswer(f"{response.url} answered HTTP {response.status_code} with something that is not JSON: "
                        f"{_snippet(response.text)}") from None


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
