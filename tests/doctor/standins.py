"""Local stand-ins for the HTTP APIs of Grafana, Loki and Alloy, which have no binary here.

Each answers the endpoints the doctor calls with the status codes and bodies their documentation
shows, and serves what the repository provisions (the committed datasources, dashboards and
LogQL rules), so a missing dashboard file or rule group shows in the doctor's output:

- Grafana, https://grafana.com/docs/grafana/latest/developers/http_api/ : ``GET /api/health``
  ("Other HTTP API": ``{"commit", "database": "ok", "version"}``), ``GET /api/datasources``
  ("Data source API", list of ``{id, uid, orgId, name, type, typeName, access, url, ...}``),
  ``GET /api/datasources/uid/<uid>/health`` (200 ``{"status": "OK", "message"}``, 400
  ``{"status": "ERROR", "message"}``: pkg/api/datasources.go ``checkDatasourceHealth``; 404
  "Plugin not found" for a plugin without backend such as alertmanager: pkg/api/plugins.go
  ``translatePluginRequestErrorToAPIError``), ``/api/datasources/proxy/uid/<uid>/*`` (Data source
  proxy), ``GET /api/search?type=dash-db`` ("Folder/Dashboard Search API") and
  ``GET /api/dashboards/home`` ("Dashboard API": ``{"dashboard", "meta"}``); 401 without the
  admin password. ``GET /metrics`` answers without a login, as Grafana's does
  (https://grafana.com/docs/grafana/latest/setup-grafana/set-up-grafana-monitoring/), so
  Prometheus' ``grafana`` job has a target that is up. The health checks really query the datasource, as Grafana's do: Prometheus
  ``1+1`` on ``/api/v1/query``, Loki ``vector(1)+vector(1)`` on ``/loki/api/v1/query``.
- Loki, https://grafana.com/docs/loki/latest/reference/loki-http-api/ : ``GET /ready`` ("ready",
  or 503 "Ingester not ready: ..."), ``GET /prometheus/api/v1/rules`` (the ruler's groups in
  Prometheus' format) and ``GET /loki/api/v1/query`` (a vector); ``/metrics``.
- Alloy, https://grafana.com/docs/alloy/latest/reference/http/ : ``GET /-/ready`` ("Alloy is
  ready." or 503 "Alloy is not ready."), ``GET /-/healthy`` (200, or 500 naming the unhealthy
  component); ``/metrics``.

    with GrafanaStandIn(password_file, {"prometheus": prom.url, ...}) as grafana:
        grafana.url
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import requests
import yaml

from tests.support.trader import REPO_ROOT

__all__ = ["StandIn", "GrafanaStandIn", "LokiStandIn", "AlloyStandIn", "Answer"]

Answer = tuple[int, str, bytes]  # status, content type, body


def _json(status: int, body) -> Answer:
    return status, "application/json", json.dumps(body).encode()


def _text(status: int, body: str) -> Answer:
    return status, "text/plain; charset=utf-8", body.encode()


class StandIn:
    """A threaded HTTP server on 127.0.0.1 dispatching ``GET path`` to ``self.route(path, query, headers)``."""

    def __init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                status, content_type, body = stand_in.route(parts.path, parse_qs(parts.query), dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def route(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Answer:
        raise NotImplementedError

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _metrics(name: str) -> Answer:
    return _text(200, f"# HELP {name}_build_info A metric with a constant '1' value.\n"
                      f"# TYPE {name}_build_info gauge\n{name}_build_info{{version=\"stand-in\"}} 1\n")


class GrafanaStandIn(StandIn):
    """Grafana 12 with the committed provisioning; ``urls`` maps compose service -> real URL."""

    VERSION = "12.3.1"  # docker-compose.yml's image
    PLUGINS_WITH_BACKEND = {"prometheus", "loki"}

    def __init__(self, password_file: Path, urls: dict[str, str]) -> None:
        self.password = password_file.read_text().strip()
        self.point_at(urls)
        files = sorted((REPO_ROOT / "grafana" / "dashboards").glob("*.json"))
        self.dashboards = {d["uid"]: d for d in (json.loads(path.read_text()) for path in files)}
        super().__init__()

    def point_at(self, urls: dict[str, str]) -> None:
        """Serve the provisioned datasources with these URLs (compose service -> real URL): Grafana
        starts before the Prometheus that scrapes it, and learns Prometheus' address afterwards."""
        self.datasources = self._provisioned_datasources(urls)

    @staticmethod
    def _provisioned_datasources(urls: dict[str, str]) -> list[dict]:
        provisioned = yaml.safe_load((REPO_ROOT / "grafana/provisioning/datasources/datasources.yml").read_text())
        result = []
        for number, source in enumerate(provisioned["datasources"], start=1):
            host = urlsplit(source["url"]).hostname
            result.append({"id": number, "uid": source["uid"], "orgId": 1, "name": source["name"],
                           "type": source["type"], "typeName": source["type"].title(), "typeLogoUrl": "",
                           "access": source["access"], "url": urls.get(host, source["url"]), "user": "",
                           "database": "", "basicAuth": False, "isDefault": bool(source.get("isDefault")),
                           "jsonData": source.get("jsonData", {}), "readOnly": True})
        return result

    def _authorised(self, headers: dict[str, str]) -> bool:
        expected = "Basic " + base64.b64encode(f"admin:{self.password}".encode()).decode()
        return headers.get("Authorization") == expected

    def route(self, path, query, headers) -> Answer:
        if path == "/api/health":
            return _json(200, {"commit": "0000000", "database": "ok", "version": self.VERSION})
        if path == "/metrics":
            return _metrics("grafana")
        if not self._authorised(headers):
            return _json(401, {"message": "Invalid username or password"})
        if path == "/api/datasources":
            return _json(200, self.datasources)
        if match := re.fullmatch(r"/api/datasources/uid/([^/]+)/health", path):
            return self._health(match.group(1))
        if match := re.fullmatch(r"/api/datasources/proxy/uid/([^/]+)(/.*)", path):
            return self._proxy(match.group(1), match.group(2))
        if path == "/api/search":
            return _json(200, [self._hit(d) for d in self.dashboards.values()
                               if query.get("type", ["dash-db"])[0] == "dash-db"])
        if path == "/api/dashboards/home":
            home = self.dashboards["trader-overview"]  # GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH
            return _json(200, {"dashboard": home, "meta": {"isHome": True, "canSave": False, "canEdit": False,
                                                           "provisioned": True, "folderTitle": "Trader"}})
        return _json(404, {"message": "Not found"})

    def _datasource(self, uid: str) -> dict | None:
        return next((d for d in self.datasources if d["uid"] == uid), None)

    def _health(self, uid: str) -> Answer:
        source = self._datasource(uid)
        if source is None:
            return _json(404, {"message": "Data source not found"})
        if source["type"] not in self.PLUGINS_WITH_BACKEND:
            return _json(404, {"message": "Plugin not found"})
        if source["type"] == "prometheus":
            path, ok, bad = ("/api/v1/query?query=1%2B1", "Successfully queried the Prometheus API.",
                             "There was an error returned querying the Prometheus API.")
        else:
            path, ok, bad = ("/loki/api/v1/query?query=vector(1)%2Bvector(1)", "Data source successfully connected.",
                             "Unable to connect with Loki. Please check the server logs for more details.")
        try:
            answer = requests.get(source["url"] + path, timeout=3)
            healthy = answer.status_code == 200 and answer.json().get("status") == "success"
        except (requests.RequestException, ValueError):
            healthy = False
        if healthy:
            return _json(200, {"status": "OK", "message": ok})
        return _json(400, {"status": "ERROR", "message": bad})

    def _proxy(self, uid: str, path: str) -> Answer:
        source = self._datasource(uid)
        if source is None:
            return _json(404, {"message": "Data source not found"})
        try:
            answer = requests.get(source["url"] + path, timeout=3)
        except requests.RequestException:
            return _json(502, {"message": "Bad Gateway"})
        return answer.status_code, answer.headers.get("Content-Type", "application/json"), answer.content

    @staticmethod
    def _hit(dashboard: dict) -> dict:
        slug = re.sub(r"[^a-z0-9]+", "-", dashboard["title"].lower()).strip("-")
        return {"id": abs(hash(dashboard["uid"])) % 1000, "uid": dashboard["uid"], "title": dashboard["title"],
                "uri": f"db/{slug}", "url": f"/d/{dashboard['uid']}/{slug}", "slug": "", "type": "dash-db",
                "tags": dashboard.get("tags", []), "isStarred": False, "folderUid": "trader",
                "folderTitle": "Trader", "folderUrl": "/dashboards/f/trader/", "sortMeta": 0}


class LokiStandIn(StandIn):
    """Loki 3 with the committed LogQL rules; the trader's stream is the lines of ``trader_log``."""

    def __init__(self, trader_log: Callable[[], list[str]]) -> None:
        self.trader_log = trader_log
        self.ready = True
        self.groups = self._rule_groups()
        super().__init__()

    @staticmethod
    def _rule_groups() -> list[dict]:
        groups = []
        for path in sorted((REPO_ROOT / "loki" / "rules" / "fake").glob("*.yml")):
            for group in yaml.safe_load(path.read_text())["groups"]:
                rules = [{"state": "inactive", "name": rule["alert"], "query": rule["expr"],
                          "duration": 0, "labels": rule.get("labels", {}), "annotations": rule.get("annotations", {}),
                          "alerts": [], "health": "ok", "lastError": "", "type": "alerting",
                          "lastEvaluation": "2026-01-01T00:00:00Z", "evaluationTime": 0.001} for rule in group["rules"]]
                groups.append({"name": group["name"], "file": path.name, "rules": rules, "interval": 60,
                               "lastEvaluation": "2026-01-01T00:00:00Z", "evaluationTime": 0.001})
        return groups

    def route(self, path, query, headers) -> Answer:
        if path == "/ready":
            if self.ready:
                return _text(200, "ready\n")
            return _text(503, "Ingester not ready: waiting for 15s after being ready\n")
        if path == "/prometheus/api/v1/rules":
            return _json(200, {"status": "success", "data": {"groups": self.groups}})
        if path == "/loki/api/v1/query":
            return self._query(query.get("query", [""])[0])
        if path == "/metrics":
            return _metrics("loki")
        return _text(404, "404 page not found\n")

    def _query(self, logql: str) -> Answer:
        compact = logql.replace(" ", "")
        if compact == "vector(1)+vector(1)":
            value = 2
        elif re.fullmatch(r'sum\(count_over_time\(\{service="trader"\}\[\d+m\]\)\)', compact):
            value = len(self.trader_log())  # the trader started within the window: every line counts
        else:
            return _text(400, f"parse error : unexpected query {logql!r} for this stand-in\n")
        return _json(200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [time.time(), str(value)]}] if value else [], "stats": {}}})


class AlloyStandIn(StandIn):
    def __init__(self) -> None:
        self.unhealthy = ""  # a component name makes /-/healthy answer 500
        super().__init__()

    def route(self, path, query, headers) -> Answer:
        if path == "/-/ready":
            return _text(200, "Alloy is ready.\n")
        if path == "/-/healthy":
            if self.unhealthy:
                return _text(500, f"unhealthy components: {self.unhealthy}\n")
            return _text(200, "All Alloy components are healthy.\n")
        if path == "/metrics":
            return _metrics("alloy")
        return _text(404, "404 page not found\n")
