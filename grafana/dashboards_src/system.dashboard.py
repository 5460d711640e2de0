"""System: is the machine healthy, and is the monitoring itself (Prometheus, Alertmanager, Loki,
the SMS relay) working?"""

from trader_dashboards import (
    BYTES, OPS, RATIO, SECONDS, SHORT, limit, logs_pipeline_stat, prom, stat, table, timeseries,
    trader_dashboard, value_text,
)


def _host_limits(name: str) -> list:
    """The warning and critical levels of one host threshold (a `severity` label tells them apart)."""
    return [limit(f'trader:host_{name}_limit:ratio{{severity="warning"}}', "warning", "orange"),
            limit(f'trader:host_{name}_limit:ratio{{severity="critical"}}', "critical", "red")]


STACK_JOBS = 'job=~"trader|prometheus|alertmanager|grafana|loki|sms-relay|alloy"'

dashboard = trader_dashboard(
    uid="trader-system",
    title="System",
    description="Host CPU, memory and disk, event-loop lag, and the health of the monitoring stack. "
                "Panel ids 1-6 and 16 are the alerts' dashboard links.",
    panels=[
        timeseries(1, "Host CPU", [
            prom("instance:trader_host_cpu_utilisation:avg5m", "5 min mean (alerted) {{instance}}"),
            prom("trader_host_cpu_utilisation_ratio", "sampled {{instance}}"),
        ], RATIO, w=8, min=0, max=1, limits=_host_limits("cpu"), alerts=("TraderHostCpuHigh",)),
        timeseries(2, "Host memory", [prom("trader_host_memory_utilisation_ratio", "{{instance}}")], RATIO,
                   w=8, min=0, max=1, limits=_host_limits("memory"), alerts=("TraderHostMemoryHigh",)),
        timeseries(3, "Disk of the data directory", [prom("trader_host_disk_utilisation_ratio", "{{instance}}")],
                   RATIO, w=8, min=0, max=1, limits=_host_limits("disk"), alerts=("TraderHostDiskHigh",)),
        timeseries(4, "Event-loop lag p99", [
            prom("instance:trader_event_loop_lag_seconds:p99_5m", "{{instance}}"),
        ], SECONDS, w=8, min=0, limits=[limit("trader:event_loop_lag_limit:seconds")],
            alerts=("TraderEventLoopLagHigh",),
            description="How late the trader's asyncio loop runs its ticks; everything waits behind a blocked loop."),
        stat(5, "Scrape targets", prom(f"up{{{STACK_JOBS}}}", "{{job}}"), SHORT, w=8, h=8, graph=False,
             more=[prom('count(trader_build_info{job="trader"}) or vector(0)', "trader metrics")],
             mappings=[value_text(0, "DOWN", "red"), value_text(1, "UP", "green")],
             alerts=("TraderTargetDown", "TraderMetricsAbsent", "SmsRelayDown", "GrafanaDown"),
             description="Prometheus' `up` per job (the trader, the SMS relay and the monitoring stack), and "
                         "whether trader series reach Prometheus at all (trader_build_info). Grafana DOWN "
                         "shows here once it is back: the time it was gone."),
        timeseries(6, "Alerting pipeline", [
            prom('ALERTS{alertname="Watchdog", alertstate="firing"}', "Watchdog firing"),
            prom("sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[$__rate_interval]))",
                 "rule evaluation failures {{rule_group}}"),
            prom("prometheus_config_last_reload_successful", "Prometheus config reload ok"),
            prom("alertmanager_config_last_reload_successful", "Alertmanager config reload ok"),
            prom("integration:alertmanager_notifications_failed:ratio_rate5m", "failed notifications {{integration}}"),
        ], SHORT, w=8, limits=[limit("trader:notification_failure_limit:ratio", "notification failure limit")],
            alerts=("Watchdog", "PrometheusRuleEvaluationFailures", "PrometheusConfigReloadFailed",
                    "AlertmanagerConfigReloadFailed", "AlertmanagerNotificationsFailing"),
            description="Watchdog and reload flags are 1 when healthy; failures and failed notifications should be 0."),
        # --- processes ---
        timeseries(7, "Process CPU", [
            prom(f"rate(process_cpu_seconds_total{{{STACK_JOBS}}}[$__rate_interval])", "{{job}}"),
        ], "percentunit", w=8),
        timeseries(8, "Process resident memory", [
            prom(f"process_resident_memory_bytes{{{STACK_JOBS}}}", "{{job}}"),
        ], BYTES, w=8),
        timeseries(15, "Exporter: samples dropped", [
            prom("sum(rate(trader_exporter_dropped_samples_total[$__rate_interval]))", "dropped/s"),
        ], OPS, w=8,
            description="Samples not exposed because the value was NaN, infinite or a negative counter; should stay 0."),
        # --- the monitoring stack's own metrics ---
        timeseries(9, "Prometheus: samples ingested and rule evaluation time", [
            prom('rate(prometheus_tsdb_head_samples_appended_total{job="prometheus"}[$__rate_interval])',
                 "samples/s"),
            prom('max by (rule_group) (prometheus_rule_group_last_duration_seconds{job="prometheus"})',
                 "eval s {{rule_group}}"),
        ], SHORT, w=8),
        timeseries(10, "Alertmanager: notifications by integration", [
            prom('sum by (integration) (rate(alertmanager_notifications_total{job="alertmanager"}[$__rate_interval]))',
                 "sent {{integration}}"),
            prom('sum by (integration) (rate(alertmanager_notifications_failed_total{job="alertmanager"}'
                 "[$__rate_interval]))", "failed {{integration}}"),
        ], OPS, w=8),
        timeseries(11, "Loki: requests and lines received", [
            prom('sum by (route, status_code) (rate(loki_request_duration_seconds_count{job="loki"}[$__rate_interval]))',
                 "{{route}} {{status_code}}"),
            prom('sum(rate(loki_distributor_lines_received_total{job="loki"}[$__rate_interval]))', "lines received/s"),
        ], OPS, w=8),
        timeseries(12, "SMS relay: webhook requests and SMS sent", [
            prom('sum by (code) (rate(sms_relay_requests_total{job="sms-relay"}[$__rate_interval]))',
                 "webhook {{code}}"),
            prom('sum(rate(sms_relay_messages_sent_total{job="sms-relay"}[$__rate_interval]))', "SMS sent"),
            prom('sum by (reason) (rate(sms_relay_messages_failed_total{job="sms-relay"}[$__rate_interval]))',
                 "SMS failed {{reason}}"),
        ], OPS, w=12,
            description="The relay's own counters (alertmanager/sms_relay.py); its `up` is in Scrape targets."),
        table(13, "Trader build", [("running", prom("trader_build_info"), SHORT)], w=6, h=8,
              hidden=("Time", "__name__", "job", "running")),
        stat(14, "Drills active", prom("trader_drill_active", "{{drill}}"), SHORT, w=6, h=8, graph=False,
             mappings=[value_text(0, "off", "green"), value_text(1, "ACTIVE", "orange")],
             description="A drill injects a failure on purpose (crash, feed outage, API errors, latency)."),
        logs_pipeline_stat(16, w=12, h=4, alerts=("LokiDown", "AlloyDown")),
    ],
    variables=[],
)
