"""The stack's APIs the chat service reads and changes, over HTTP (aiohttp).

- ``Prometheus``: ``GET /api/v1/query`` (https://prometheus.io/docs/prometheus/latest/querying/api/).
- ``Alertmanager``: API v2 ``/api/v2/alerts`` and ``/api/v2/silences``
  (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml).
- ``TraderControl``: the trader's control API (exporters/control_api.py), its bearer token read
  from the file the trader wrote (read at each call: a new trader volume brings a new token).
- ``Reports``: the reports service's ``/api/v1/reports/<account>/<period>.json|.png``.

Any of them down, or answering garbage, raises ``Down(name)``: one line naming the dependency,
never its URL's secrets or a token.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

__all__ = ["Down", "Refused", "Prometheus", "Alertmanager", "TraderControl", "Reports", "Http"]

TIMEOUT_SECONDS = 10.0  # a reply within a phone user's patience, a dependency that hangs named down


class Down(Exception):
    """A dependency did not answer usefully; ``str()`` is the one line for the chat."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name} is unreachable ({why})")
        self.name = name


class Refused(Exception):
    """The trader understood and said no (an unknown account, a read-only one); ``str()`` is its line."""


class Http:
    """One aiohttp session for every client; ``close()`` at stop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        return self._session

    async def request(self, name: str, method: str, url: str, *, ok=(200,), **kwargs) -> tuple[int, object]:
        try:
            async with self.session.request(method, url, **kwargs) as response:
                body = await response.read()
                status = response.status
                kind = response.content_type
        except asyncio.TimeoutError:
            raise Down(name, f"no answer within {TIMEOUT_SECONDS:g} s") from None
        except aiohttp.ClientError as error:
            raise Down(name, type(error).__name__) from None
        if status not in ok:
            raise Down(name, f"HTTP {status}")
        if kind == "application/json":
            import json

            try:
                return status, json.loads(body or b"null")
            except ValueError:
                raise Down(name, "an answer that is not JSON") from None
        return status, body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Prometheus:
    name = "Prometheus"

    def __init__(self, http: Http, url: str, trader: str | None = None) -> None:
        self.http, self.url, self.trader = http, url, trader

    async def query(self, expr: str) -> list[tuple[dict, float]]:
        """(labels, value) of each series of an instant query; only this chat's trader's series
        when a trader is set (another trader's series carry another `trader` label)."""
        _, body = await self.http.request(self.name, "GET", f"{self.url}/api/v1/query", params={"query": expr},
                                          ok=(200, 400, 422))
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "?") if isinstance(body, dict) else "?"
            raise Down(self.name, f"query refused: {error}"[:200])
        rows = [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]
        if self.trader is None:
            return rows
        return [(labels, value) for labels, value in rows if labels.get("trader", self.trader) == self.trader]

    async def one(self, expr: str) -> dict[str, float]:
        """``account`` (or the whole label set as text) -> value."""
        return {labels.get("account", ""): value for labels, value in await self.query(expr)}


class Alertmanager:
    name = "Alertmanager"

    def __init__(self, http: Http, url: str) -> None:
        self.http, self.url = http, url

    async def alerts(self, *, silenced: bool = False, inhibited: bool = False) -> list[dict]:
        params = {"active": "true", "silenced": str(silenced).lower(), "inhibited": str(inhibited).lower()}
        _, body = await self.http.request(self.name, "GET", f"{self.url}/api/v2/alerts", params=params)
        return body if isinstance(body, list) else []

    async def silences(self) -> list[dict]:
        _, body = await self.http.request(self.name, "GET", f"{self.url}/api/v2/silences")
        return body if isinstance(body, list) else []

    async def silence(self, labels: dict[str, str], duration: timedelta, created_by: str, comment: str) -> str:
        """A silence matching exactly these labels (that alert instance, no other); returns its id."""
        now = datetime.now(timezone.utc)
        body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())],
                "startsAt": _iso(now), "endsAt": _iso(now + duration), "createdBy": created_by, "comment": comment}
        _, answer = await self.http.request(self.name, "POST", f"{self.url}/api/v2/silences", json=body)
        return answer["silenceID"]

    async def expire(self, silence_id: str) -> None:
        await self.http.request(self.name, "DELETE", f"{self.url}/api/v2/silence/{silence_id}", ok=(200, 404))


class TraderControl:
    name = "the trader"

    def __init__(self, http: Http, url: str, token_file: str) -> None:
        self.http, self.url, self.token_file = http, url, Path(token_file)

    def _headers(self) -> dict[str, str]:
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise Down(self.name, f"control token file {self.token_file} unreadable: {error.strerror}") from None
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, **params) -> dict:
        status, body = await self.http.request(self.name, "GET", f"{self.url}/control/v1/{path}",
                                               params=params or None, headers=self._headers(), ok=(200, 400, 403, 404))
        if status != 200:
            raise Refused(body.get("error", f"HTTP {status}") if isinstance(body, dict) else f"HTTP {status}")
        return body

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        """(status, answer): 200, or a refusal (403, 404, 409) whose ``error`` the chat shows."""
        status, answer = await self.http.request(self.name, "POST", f"{self.url}/control/v1/{path}", json=body,
                                                 headers=self._headers(), ok=(200, 400, 403, 404, 409))
        return status, answer if isinstance(answer, dict) else {}


class Reports:
    name = "the reports service"

    def __init__(self, http: Http, url: str | None) -> None:
        self.http, self.url = http, url

    async def report(self, account: str, period: str) -> tuple[dict, bytes]:
        if self.url is None:
            raise Down(self.name, "REPORTS_URL is not set")
        base = f"{self.url}/api/v1/reports/{account}/{period}"
        status, body = await self.http.request(self.name, "GET", f"{base}.json", ok=(200, 404))
        if status == 404:
            raise Down(self.name, body.get("error", "no such account") if isinstance(body, dict) else "404")
        _, png = await self.http.request(self.name, "GET", f"{base}.png")
        return body, png if isinstance(png, bytes) else b""
