"""Grafana: health, the admin password accepted, the provisioned datasources present and passing
their health check, the dashboards present, the home dashboard set.

Endpoints (https://grafana.com/docs/grafana/latest/developers/http_api/): ``/api/health``
(Other HTTP API, "Health API"), ``/api/datasources`` and ``/api/datasources/uid/<uid>/health``
(Data source HTTP API; 200 ``{"status": "OK", "message": ...}``, 400 with ``"status": "ERROR"``),
``/api/datasources/proxy/uid/<uid>/<path>`` (Data source proxy), ``/api/search?type=dash-db``
(Folder/Dashboard Search API) and ``/api/dashboards/home`` (Dashboard HTTP API). All but the first
with basic auth: ``admin`` and the password ``stack-init`` wrote.

None of these is required for alerts: Grafana is where a person looks, not how they are told.

    >>> from doctor.http import HttpClient
    >>> found = check(HttpClient(timeout=0.5), "http://127.0.0.1:9", password=None)
    >>> [(c.name, c.ok, c.required) for c in found.checks]
    [('reachable', False, False)]
"""

from __future__ import annotations

from doctor.checks import run_steps, service_fix
from doctor.http import BadAnswer, HttpClient, json_of
from doctor.result import Findings

__all__ = ["check", "EXPECTED_DATASOURCES", "EXPECTED_DASHBOARDS", "HOME_DASHBOARD", "ADMIN_USER", "PASSWORD_FIX"]

# Copies of grafana/provisioning/datasources/datasources.yml's uids, grafana/dashboards/*.json's
# uids and docker-compose.yml's home dashboard (the image holds no grafana/ folder); a test in
# tests/doctor fails when they drift.
EXPECTED_DATASOURCES = ("prometheus", "loki", "alertmanager")
EXPECTED_DASHBOARDS = ("trader-execution", "trader-logs", "trader-market-data", "trader-overview",
                       "trader-risk", "trader-strategy", "trader-system")
HOME_DASHBOARD = "trader-overview"
ADMIN_USER = "admin"  # GF_SECURITY_ADMIN_USER in docker-compose.yml

# Datasource types whose plugin has no backend, so Grafana has no health check for them (their
# "Save & test" runs in the browser): the doctor asks the datasource's own API through Grafana's
# proxy instead, which proves the same thing (Grafana reaches the service).
PROXY_PROBES = {"alertmanager": "/api/v2/status"}

PASSWORD_FIX = ("docker compose run --rm doctor (it mounts the password volume), or pass "
                "--grafana-password-file; to reset it see README.md 'The Grafana admin password'")


def _compose_service(datasource: dict) -> str:
    # Each provisioned datasource type is served by the compose service of the same name.
    return datasource.get("type") if datasource.get("type") in EXPECTED_DATASOURCES else "grafana"


def check(http: HttpClient, url: str, *, password: str | None, password_problem: str = "") -> Findings:
    found = Findings("Grafana", url, required=False)
    api = url.rstrip("/")
    auth = (ADMIN_USER, password) if password is not None else None
    datasources: list[dict] = []

    def health() -> None:
        body = json_of(http.get(f"{api}/api/health"), expect_status=(200, 503))
        if body.get("database") == "ok":
            found.ok("health", f"database ok (Grafana {body.get('version', '?')})")
        else:
            found.fail("health", f"database {body.get('database')!r}",
                       cause="Grafana cannot open its database in the grafana-data volume", fix=service_fix("grafana"))

    def login() -> bool:
        if auth is None:
            found.fail("admin login", password_problem or "no admin password given",
                       cause="the doctor needs the password stack-init wrote", fix=PASSWORD_FIX)
            return False
        response = http.get(f"{api}/api/datasources", auth=auth)
        if response.status_code in (401, 403):
            found.fail("admin login", f"Grafana refused admin with the password file (HTTP {response.status_code})",
                       cause="the password was changed in Grafana, or GRAFANA_ADMIN_PASSWORD changed after the first "
                             "start (Grafana applies it only when it creates its database)", fix=PASSWORD_FIX)
            return False
        datasources.extend(json_of(response))
        found.ok("admin login", "accepted")
        return True

    def provisioned() -> None:
        by_uid = {d.get("uid"): d for d in datasources}
        missing = [uid for uid in EXPECTED_DATASOURCES if uid not in by_uid]
        if missing:
            found.fail("datasources", f"missing {', '.join(missing)} (found {', '.join(sorted(map(str, by_uid)))})",
                       cause="grafana/provisioning/datasources is not mounted or was edited",
                       fix="docker compose logs grafana | grep -i provisioning")
        else:
            found.ok("datasources", ", ".join(f"{by_uid[uid]['name']} ({by_uid[uid]['type']})"
                                              for uid in EXPECTED_DATASOURCES))
        for uid in EXPECTED_DATASOURCES:
            if uid in by_uid:
                _datasource_health(by_uid[uid])

    def _datasource_health(datasource: dict) -> None:
        name, uid, kind = datasource.get("name", "?"), datasource["uid"], datasource.get("type", "?")
        service = _compose_service(datasource)
        response = http.get(f"{api}/api/datasources/uid/{uid}/health", auth=auth)
        if response.status_code == 404 and kind in PROXY_PROBES:
            probe = http.get(f"{api}/api/datasources/proxy/uid/{uid}{PROXY_PROBES[kind]}", auth=auth)
            if probe.status_code == 200:
                found.ok(f"datasource {name}", f"reached through Grafana's proxy ({PROXY_PROBES[kind]} answered 200)")
            else:
                found.fail(f"datasource {name}", f"Grafana's proxy to {datasource.get('url')} answered HTTP "
                           f"{probe.status_code}", cause=f"Grafana cannot reach {service}", fix=service_fix(service))
            return
        body = json_of(response, expect_status=(200, 400, 500, 503))
        if response.status_code == 200 and body.get("status") == "OK":
            found.ok(f"datasource {name}", body.get("message") or "health check passed")
        else:
            found.fail(f"datasource {name}", f"health check {body.get('status', response.status_code)}: "
                       f"{body.get('message', '')}".rstrip(": "),
                       cause=f"Grafana cannot query {service} at {datasource.get('url')}", fix=service_fix(service))

    def dashboards() -> None:
        hits = json_of(http.get(f"{api}/api/search", params={"type": "dash-db"}, auth=auth))
        found_uids = {hit.get("uid") for hit in hits}
        missing = [uid for uid in EXPECTED_DASHBOARDS if uid not in found_uids]
        if missing:
            found.fail("dashboards", f"missing {', '.join(missing)}",
                       cause="grafana/dashboards is not mounted, or a JSON file fails to load",
                       fix="python grafana/generate.py --check; docker compose logs grafana | grep -i dashboard")
        else:
            found.ok("dashboards", f"all {len(EXPECTED_DASHBOARDS)} present")

    def home() -> None:
        body = json_of(http.get(f"{api}/api/dashboards/home", auth=auth))
        uid = (body.get("dashboard") or {}).get("uid") or ""
        if uid == HOME_DASHBOARD or f"/d/{HOME_DASHBOARD}" in (body.get("redirectUri") or ""):
            found.ok("home dashboard", HOME_DASHBOARD)
        else:
            found.fail("home dashboard", f"is {uid or body.get('redirectUri') or 'Grafana default'!r}, "
                       f"not {HOME_DASHBOARD}",
                       cause="GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH points at a file that is not mounted",
                       fix="docker compose config grafana | grep HOME_DASHBOARD")

    def authenticated() -> None:
        if login():
            for name, step in (("datasources", provisioned), ("dashboards", dashboards), ("home dashboard", home)):
                try:
                    step()
                except BadAnswer as error:
                    found.fail(name, str(error), cause="Grafana answered something unexpected",
                               fix=service_fix("grafana"))

    return run_steps(found, [("health", health), ("admin login", authenticated)], compose_service="grafana")
