"""Alertmanager: ready, configuration loaded and last reload successful, cluster status, the
channels it routes to, Prometheus' alerts arriving (the Watchdog), recent delivery failures.

Endpoints (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml and
https://prometheus.io/docs/alerting/latest/management_api/): ``/-/ready``, ``/api/v2/status``
(``config.original``, ``cluster.status``, ``versionInfo``), ``/api/v2/alerts?filter=...``, and
``/metrics`` (``alertmanager_config_last_reload_successful``,
``alertmanager_notifications_total`` and ``..._failed_total`` by ``integration``).

    >>> from doctor.http import HttpClient
    >>> found = check(HttpClient(timeout=0.5), "http://127.0.0.1:9")
    >>> found.checks[0].detail
    'cannot reach Alertmanager at http://127.0.0.1:9: connection refused'
"""

from __future__ import annotations

from doctor.channels import channels_of
from doctor.checks import ready_step, run_steps, service_fix
from doctor.http import BadAnswer, HttpClient, json_of
from doctor.metrics_text import by_label, samples, total
from doctor.result import Findings

__all__ = ["check", "RENDER_FIX"]

# What re-renders the config from .env and restarts Alertmanager on it (docker-compose.yml).
RENDER_FIX = "docker compose logs alertmanager-config && docker compose up -d alertmanager-config alertmanager"
_HEALTHY_CLUSTER = {"ready", "disabled"}  # disabled: one instance, no gossip (compose's default)


def check(http: HttpClient, url: str) -> Findings:
    found = Findings("Alertmanager", url, required=True)
    api = url.rstrip("/")
    status: dict = {}

    def configuration() -> None:
        status.update(json_of(http.get(f"{api}/api/v2/status")))
        version = (status.get("versionInfo") or {}).get("version", "?")
        if (status.get("config") or {}).get("original"):
            found.ok("configuration", f"loaded (Alertmanager {version})")
        else:
            found.fail("configuration", "/api/v2/status shows no loaded configuration",
                       cause="the render step wrote no alertmanager.yml", fix=RENDER_FIX)
        cluster = (status.get("cluster") or {}).get("status", "?")
        peers = len((status.get("cluster") or {}).get("peers") or [])
        if cluster in _HEALTHY_CLUSTER:
            found.ok("cluster", f"{cluster}" + (f" ({peers} peers)" if peers else " (single instance)"))
        else:
            found.fail("cluster", f"status {cluster!r}: notifications wait until the gossip settles",
                       cause="the cluster peers cannot reach each other on port 9094",
                       fix=service_fix("alertmanager"), required=False)

    def reload_and_failures() -> None:
        metrics = samples(http.get(f"{api}/metrics").text)
        reloaded = total(metrics, "alertmanager_config_last_reload_successful")
        if reloaded == 1:
            found.ok("last reload", "successful")
        elif reloaded is not None:
            found.fail("last reload", "the last configuration reload failed: Alertmanager routes with the previous one",
                       cause="the rendered alertmanager.yml was refused (a template or a field Alertmanager rejects)",
                       fix=RENDER_FIX)
        sent = by_label(metrics, "alertmanager_notifications_total", "integration")
        failed = by_label(metrics, "alertmanager_notifications_failed_total", "integration")
        for integration in sorted(name for name, count in failed.items() if count > 0):
            found.fail(f"{integration} deliveries", f"{failed[integration]:.0f} of {sent.get(integration, 0):.0f} "
                       f"notifications through {integration} failed since Alertmanager started",
                       cause="the channel's webhook, token or SMTP server refused or did not answer",
                       fix="docker compose run --rm doctor --notify (tests each channel now); "
                           "docker compose logs alertmanager | grep -i notify", required=False)

    def channels() -> None:
        original = (status.get("config") or {}).get("original")
        if not original:
            return  # already reported by "configuration"
        configured = channels_of(original)
        if configured:
            found.ok("channels", ", ".join(c.describe() for c in configured))
        else:
            found.fail("channels", "no channel configured: every alert ends in the blackhole receiver",
                       cause="no channel variable is set in .env (DISCORD_WEBHOOK_URL, TELEGRAM_BOT_TOKEN...)",
                       fix="cp .env.example .env, set a channel's variables (alertmanager/README.md), then "
                           "docker compose up -d")

    def watchdog() -> None:
        alerts = json_of(http.get(f"{api}/api/v2/alerts", params={"filter": 'alertname="Watchdog"', "active": "true"}))
        if not isinstance(alerts, list):
            raise BadAnswer("/api/v2/alerts did not answer a list")
        if alerts:
            found.ok("alerts from Prometheus", "the Watchdog alert is active: Prometheus reaches Alertmanager")
        else:
            found.fail("alerts from Prometheus", "no Watchdog alert: Prometheus' alerts do not arrive",
                       cause="Prometheus sends its first alerts about a minute after it starts (its resend "
                             "delay): run the doctor again in a minute; if it stays, Prometheus cannot reach "
                             "Alertmanager or evaluates no rules (see the Prometheus lines)",
                       fix="docker compose logs prometheus | grep -i notif")

    ready = ready_step(http, found, "/-/ready", compose_service="alertmanager",
                       cause="Alertmanager is starting or could not load its configuration")
    return run_steps(found, [ready, ("configuration", configuration), ("last reload", reload_and_failures),
                             ("channels", channels), ("alerts from Prometheus", watchdog)],
                     compose_service="alertmanager")
