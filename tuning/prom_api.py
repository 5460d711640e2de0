"""The few Prometheus HTTP API calls the tool makes (https://prometheus.io/docs/prometheus/latest/querying/api/).

    api = PrometheusAPI("http://localhost:9090")
    series = api.query_range("trader_drawdown_ratio > 0.1", start, end, step=5.0)
    # [({"account": "main", ...}, [(t, value), ...]), ...]

Every failure is a ``TuningError`` naming the URL and what went wrong: unreachable, a refused
query (the PromQL error as Prometheus words it), an answer that is not the API's.
"""

from __future__ import annotations

import math
from typing import Any

import requests

from .errors import TuningError

__all__ = ["PrometheusAPI", "Series", "MAX_POINTS"]

Series = tuple[dict[str, str], list[tuple[float, float]]]
# Prometheus refuses a range query of more than 11,000 points per series; stay under it.
MAX_POINTS = 10_000


class PrometheusAPI:
    def __init__(self, url: str, session: requests.Session | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, **params: Any) -> Any:
        try:
            response = self.session.request(method, f"{self.url}{path}", data=params if method == "POST" else None,
                                            params=params if method == "GET" else None, timeout=self.timeout)
        except requests.Timeout:
            raise TuningError(f"Prometheus at {self.url} is unreachable (no answer within {self.timeout:g} s): "
                              "expected a running Prometheus (give --prometheus URL)") from None
        except requests.RequestException:
            raise TuningError(f"Prometheus at {self.url} is unreachable (connection failed): expected a running "
                              "Prometheus (give --prometheus URL)") from None
        try:
            body = response.json()
        except ValueError:
            raise TuningError(f"Prometheus at {self.url}{path}: answered HTTP {response.status_code} without "
                              "the API's JSON: expected a Prometheus server") from None
        if body.get("status") != "success":
            raise TuningError(f"Prometheus at {self.url} refused the query: {body.get('error', 'no reason given')}")
        return body.get("data")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Every series of ``expr`` at ``start, start + step, ... <= end``, in chunks under MAX_POINTS."""
        merged: dict[tuple, Series] = {}
        chunk = step * (MAX_POINTS - 1)
        at = start
        while at <= end + 1e-9:
            stop = min(end, at + chunk)
            data = self._call("POST", "/api/v1/query_range", query=expr, start=_ts(at), end=_ts(stop), step=_ts(step))
            for item in data.get("result", []):
                labels = item["metric"]
                key = tuple(sorted(labels.items()))
                points = merged.setdefault(key, (labels, []))[1]
                points.extend((float(t), float(v)) for t, v in item["values"])
            at = stop + step
        return list(merged.values())

    def query(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        data = self._call("POST", "/api/v1/query", query=expr, time=_ts(at))
        if data.get("resultType") == "scalar":
            return [({}, float(data["result"][1]))]
        return [(item["metric"], float(item["value"][1])) for item in data.get("result", [])]

    def has_samples(self, names: list[str], start: float, end: float) -> bool:
        """Does any series named in ``names`` have a sample in [start, end]?"""
        if not names:
            return True
        pattern = "|".join(sorted(set(names)))
        window = max(1, int(math.ceil(end - start)))
        return bool(self.query(f'count(last_over_time({{__name__=~"{pattern}"}}[{window}s]))', end))

    def reload(self) -> None:
        try:
            response = self.session.post(f"{self.url}/-/reload", timeout=self.timeout)
        except requests.RequestException as error:
            raise TuningError(f"Prometheus at {self.url} is unreachable for /-/reload ({type(error).__name__})") from None
        if response.status_code != 200:
            raise TuningError(f"Prometheus at {self.url} refused /-/reload: HTTP {response.status_code} "
                              f"{response.text.strip()[:200]} (expected --web.enable-lifecycle)")


def _ts(value: float) -> str:
    return f"{value:.3f}"
