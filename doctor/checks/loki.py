"""Loki: ready, the ruler has loaded the LogQL alert rules, the trader's log lines arriving.

Endpoints (https://grafana.com/docs/loki/latest/reference/loki-http-api/): ``/ready``,
``/prometheus/api/v1/rules`` (the ruler's rules in Prometheus' format, with ``health`` and
``lastError``) and ``/loki/api/v1/query`` (an instant LogQL metric query). Not required for
alerts: without Loki only the LogQL rules (``loki/rules/``) go quiet; Prometheus' rules still fire.

    >>> TRADER_LOGS_QUERY
    'sum(count_over_time({service="trader"}[15m]))'
"""

from __future__ import annotations

from doctor.checks import ready_step, run_steps, service_fix
from doctor.http import BadAnswer, HttpClient, json_of
from doctor.result import Findings

__all__ = ["check", "TRADER_STREAM", "TRADER_LOGS_QUERY", "LOGS_WINDOW"]

# The stream Alloy writes the trader's lines to: loki/config.alloy names each stream after its
# compose service (label "service"); the Logs dashboard selects the same.
TRADER_STREAM = '{service="trader"}'
# The trader logs every order, fill, position change and feed state change; fifteen quiet minutes
# almost always means the pipeline, not the trader, is silent (a flat market can do it too, which
# is one reason this check never decides the exit code).
LOGS_WINDOW = "15m"
TRADER_LOGS_QUERY = f"sum(count_over_time({TRADER_STREAM}[{LOGS_WINDOW}]))"


def check(http: HttpClient, url: str) -> Findings:
    found = Findings("Loki", url, required=False)
    api = url.rstrip("/")

    def rules() -> None:
        body = json_of(http.get(f"{api}/prometheus/api/v1/rules"))
        if body.get("status") != "success":
            raise BadAnswer(f"ruler answered status {body.get('status')!r}")
        groups = body["data"]["groups"]
        every = [rule for group in groups for rule in group.get("rules", [])]
        failing = [rule for rule in every if rule.get("health") == "err"]
        if not every:
            found.fail("ruler", "no LogQL rule loaded",
                       cause="loki/rules is not mounted at the ruler's directory (tenant folder 'fake')",
                       fix="docker compose config loki | grep rules && " + service_fix("loki"))
        elif failing:
            for rule in failing:
                found.fail(f"rule {rule.get('name')}", rule.get("lastError") or "failing",
                           cause="the LogQL expression fails at evaluation", fix="fix it in loki/rules/fake/*.yml")
        else:
            plural = "s" if len(groups) != 1 else ""
            found.ok("ruler", f"{len(every)} LogQL rules in {len(groups)} group{plural} loaded, none failing")

    def trader_logs() -> None:
        body = json_of(http.get(f"{api}/loki/api/v1/query", params={"query": TRADER_LOGS_QUERY}))
        if body.get("status") != "success":
            raise BadAnswer(f"query answered status {body.get('status')!r}")
        result = body["data"]["result"]
        lines = float(result[0]["value"][1]) if result else 0.0
        if lines > 0:
            found.ok("trader logs", f"{lines:.0f} lines from {TRADER_STREAM} in the last {LOGS_WINDOW}")
        else:
            found.fail("trader logs", f"no line from {TRADER_STREAM} in the last {LOGS_WINDOW}",
                       cause="Alloy does not ship the trader's logs (down, or the Docker socket is not mounted), "
                             "the trader is not running, or it had nothing to say",
                       fix="docker compose logs --tail=50 alloy; open http://localhost:12345 (Alloy's pipeline)")

    ready = ready_step(http, found, "/ready", compose_service="loki",
                       cause="Loki is still starting (the ingester waits ~15 s) or rejected loki/loki.yml")
    return run_steps(found, [ready, ("ruler", rules), ("trader logs", trader_logs)], compose_service="loki")
