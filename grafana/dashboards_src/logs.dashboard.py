"""Logs: the trader's JSON log lines from Loki, narrowed by level, exchange, symbol and order id.

Loki labels (promoted by Alloy, loki/config.alloy) are ``service``, ``level`` and ``exchange``;
``symbol`` and ``order_id`` are JSON fields, filtered after ``| json``.
"""

from trader_dashboards import (
    NO_LOGS, custom_variable, logs_panel, logs_pipeline_stat, loki_timeseries, query_variable, text,
    textbox_variable, trader_dashboard,
)

LEVELS = ("debug", "info", "warning", "error", "critical")

# Stream selector on labels first (cheap), then the JSON fields. An empty order id box matches
# every line (`.*`); `:regex` escapes what is typed, so an id is matched literally as a prefix.
SELECTOR = '{service="trader", level=~"$level", exchange=~"$exchange"}'
FILTERS = '| json | symbol=~"$symbol" | order_id=~"${order_id:regex}.*"'

dashboard = trader_dashboard(
    uid="trader-logs",
    title="Logs",
    description="The trader's logs from Loki. Panels on the other dashboards link here with their "
                "exchange and symbol.",
    time_from="now-1h",
    panels=[
        # The logs path is optional: when it is down this row says so, instead of empty panels.
        logs_pipeline_stat(4, w=8, h=3),
        text(5, "", "Loki or Alloy DOWN? Metrics, dashboards and alerts keep working without them. "
                    "`docker compose run --rm doctor` names what is wrong and the command that fixes it.",
             w=16, h=3),
        loki_timeseries(1, "Log lines by level",
                        f"sum by (level) (count_over_time({SELECTOR} {FILTERS} [$__interval]))", "{{level}}",
                        no_value=NO_LOGS),
        logs_panel(2, "Trader logs", f"{SELECTOR} {FILTERS}", h=18, no_value=NO_LOGS),
        logs_panel(3, "Errors and tracebacks",
                   f'{{service="trader", level=~"error|critical", exchange=~"$exchange"}} {FILTERS}', h=10,
                   description="error and critical lines only, whatever the level filter says; "
                               "exc_type and exc hold the traceback.", no_value=NO_LOGS),
    ],
    variables=[
        custom_variable("level", "Level", LEVELS),
        query_variable("exchange", "Exchange", "label_values(trader_feed_up, exchange)"),
        query_variable("symbol", "Symbol",
                       'label_values(trader_feed_last_message_timestamp_seconds{exchange=~"$exchange"}, symbol)'),
        textbox_variable("order_id", "Order id"),
    ],
)
