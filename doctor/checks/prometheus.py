"""Prometheus: ready, configuration loaded, rules loaded and evaluating, Alertmanager known,
every target up, the trader's series present.

Endpoints (https://prometheus.io/docs/prometheus/latest/management_api/ and
https://prometheus.io/docs/prometheus/latest/querying/api/): ``/-/ready``,
``/api/v1/status/runtimeinfo`` (``reloadConfigSuccess``), ``/api/v1/rules`` (``health``,
``lastError`` per rule), ``/api/v1/alertmanagers``, ``/api/v1/targets`` (``health``,
``lastError`` per target), ``/api/v1/query``.

    >>> from doctor.http import HttpClient
    >>> found = check(HttpClient(timeout=0.5), "http://127.0.0.1:9")
    >>> [(c.name, c.ok) for c in found.checks]
    [('reachable', False)]
"""

from __future__ import annotations

from doctor.checks import ready_step, run_steps, service_fix
from doctor.http import BadAnswer, HttpClient, json_of
from doctor.result import Findings

__all__ = ["check", "ALERTING_JOBS", "TRADER_SERIES"]

# Scrape jobs alerts depend on: the trader (every trading alert), Alertmanager and Prometheus
# (the pipeline's own meta alerts) and the SMS relay when it runs. Loki's, Alloy's and Grafana's
# targets are shown too, but a logs or dashboards problem does not stop an alert.
ALERTING_JOBS = frozenset({"trader", "alertmanager", "prometheus", "sms-relay"})
TRADER_SERIES = 'trader_build_info{job="trader"}'
_SHOW_AT_MOST = 5  # failing rules or targets listed one per line; the rest are counted


def _data(body: dict, what: str):
    if body.get("status") != "success" or "data" not in body:
        raise BadAnswer(f"{what}: status {body.get('status')!r}, error {body.get('error')!r}")
    return body["data"]


def check(http: HttpClient, url: str) -> Findings:
    found = Findings("Prometheus", url, required=True)
    api = url.rstrip("/")

    def config() -> None:
        info = _data(json_of(http.get(f"{api}/api/v1/status/runtimeinfo")), "runtimeinfo")
        if info.get("reloadConfigSuccess") is True:
            found.ok("configuration", f"loaded (last load {info.get('lastConfigTime', '?')})")
        else:
            found.fail("configuration", "the last reload of prometheus.yml or a rule file was refused; "
                       "Prometheus still runs the previous one",
                       cause="a syntax error in prometheus/prometheus.yml or prometheus/rules/*.yml",
                       fix="promtool check config prometheus/prometheus.yml && promtool check rules "
                           "prometheus/rules/*.yml, fix, then curl -X POST http://localhost:9090/-/reload")

    def rules() -> None:
        groups = _data(json_of(http.get(f"{api}/api/v1/rules")), "rules")["groups"]
        every = [(group, rule) for group in groups for rule in group.get("rules", [])]
        if not every:
            found.fail("rules", "no rule loaded: no alert can fire",
                       cause="prometheus/rules is not mounted, or rule_files in prometheus.yml matches nothing",
                       fix="docker compose config | grep -A3 'prometheus/rules' && " + service_fix("prometheus"))
            return
        failing = [(group, rule) for group, rule in every if rule.get("health") == "err"]
        if not failing:
            alerts = sum(1 for _, rule in every if rule.get("type") == "alerting")
            found.ok("rules", f"{len(every)} rules in {len(groups)} groups loaded ({alerts} of them alerts), "
                              "none failing")
            return
        for group, rule in failing[:_SHOW_AT_MOST]:
            source = group.get("file", "").rsplit("/", 1)[-1] or "its rule file"
            found.fail(f"rule {rule.get('name')}", f"group {group.get('name')}: {rule.get('lastError') or 'failing'}",
                       cause=f"the expression fails at evaluation, so it cannot fire (prometheus/rules/{source})",
                       fix=f"fix the rule in prometheus/rules/{source}, check it with promtool test rules "
                           "prometheus/tests/*.yml, then curl -X POST http://localhost:9090/-/reload")
        if len(failing) > _SHOW_AT_MOST:
            found.fail("rules", f"{len(failing) - _SHOW_AT_MOST} more rules failing",
                       cause="see the rules page: http://localhost:9090/rules", fix=service_fix("prometheus"))

    def alertmanagers() -> None:
        active = _data(json_of(http.get(f"{api}/api/v1/alertmanagers")), "alertmanagers")["activeAlertmanagers"]
        if active:
            found.ok("alertmanager", "sends alerts to " + ", ".join(a["url"] for a in active))
        else:
            found.fail("alertmanager", "knows no Alertmanager: alerts are evaluated but sent nowhere",
                       cause="Prometheus started seconds ago (it lists Alertmanagers after its first discovery), or "
                             "the alerting block of prometheus/prometheus.yml is missing or does not resolve",
                       fix="check alerting.alertmanagers in prometheus/prometheus.yml, then "
                           "curl -X POST http://localhost:9090/-/reload")

    def targets() -> None:
        active = _data(json_of(http.get(f"{api}/api/v1/targets", params={"state": "active"})),
                       "targets")["activeTargets"]
        if not active:
            found.fail("targets", "no scrape target at all",
                       cause="Prometheus started seconds ago (targets appear after its first discovery), or "
                             "scrape_configs in prometheus/prometheus.yml is empty",
                       fix="run the doctor again in a few seconds; check prometheus/prometheus.yml")
            return
        down = [t for t in active if t.get("health") != "up"]
        up_jobs = sorted({t["labels"].get("job", "?") for t in active if t.get("health") == "up"})
        if up_jobs:
            found.ok("targets", f"{len(active) - len(down)} of {len(active)} up: {', '.join(up_jobs)}",
                     required=False)
        for target in down[:_SHOW_AT_MOST]:
            job = target["labels"].get("job", "?")
            instance = target["labels"].get("instance", target.get("scrapeUrl", "?"))
            state = "not scraped yet" if target.get("health") == "unknown" else "down"
            found.fail(f"target {job}", f"{instance} {state}: {target.get('lastError') or 'no error given'}",
                       cause=f"the {job} service is not running or its metrics endpoint does not answer"
                       if state == "down" else "Prometheus just started: wait one scrape interval",
                       fix=service_fix(job), required=job in ALERTING_JOBS)
        if len(down) > _SHOW_AT_MOST:
            found.fail("targets", f"{len(down) - _SHOW_AT_MOST} more targets down",
                       cause="see http://localhost:9090/targets", fix=service_fix("prometheus"), required=False)

    def trader_series() -> None:
        result = _data(json_of(http.get(f"{api}/api/v1/query", params={"query": TRADER_SERIES})), "query")["result"]
        if result:
            versions = sorted({r["metric"].get("version", "?") for r in result})
            found.ok("trader series", f"{TRADER_SERIES} present (version {', '.join(versions)})")
        else:
            found.fail("trader series", f"{TRADER_SERIES} is absent: no trading alert can fire",
                       cause="the trader is down, or the trader job is missing from prometheus.yml",
                       fix=service_fix("trader"))

    ready = ready_step(http, found, "/-/ready", compose_service="prometheus",
                       cause="Prometheus is still replaying its write-ahead log, or failed to start")
    return run_steps(found, [ready, ("configuration", config), ("rules", rules), ("alertmanager", alertmanagers),
                             ("targets", targets), ("trader series", trader_series)], compose_service="prometheus")
