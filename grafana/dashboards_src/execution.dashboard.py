"""Execution: are orders accepted, fast, filled and at a fair price; is the exchange API healthy?"""

from trader_dashboards import (
    BPS, OPS, RATIO, SECONDS, SHORT, USDT, heatmap, limit, problem_links, prom, sel, timeseries,
    trader_dashboard,
)

ACC_EX = sel("account", "exchange")
EXCHANGE = sel("exchange")
REJECTED = sel("account", "exchange", "symbol", status="rejected")
REJECTED_BY_TYPE = sel("account", "exchange", status="rejected")
API_ERRORS = sel("exchange", status="error")

# The windows of the multi-window burn-rate alerts of prometheus/rules/slo.yml (long and short
# window of each pair): 1h/5m and 6h/30m page, 1d/2h and 3d/6h open a ticket.
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

dashboard = trader_dashboard(
    uid="trader-execution",
    title="Execution",
    description="Order failures, latency, slippage, fill and post-only rates, rejections by reason and API errors. "
                "Panel ids 1-6 are the alerts' dashboard links.",
    panels=[
        timeseries(1, "Order failures (API error or insufficient margin / submitted)", [
            prom(f"account_exchange:trader_order_failures:ratio_rate5m{ACC_EX}", "{{account}} {{exchange}}"),
        ], RATIO, min=0, alerts=("TraderOrderFailuresHigh",),
            right=[prom(f"account_exchange:trader_order_placement_failures:increase5m{ACC_EX}",
                        "failures (5m) {{account}} {{exchange}}")],
            limits=[limit("trader:order_failure_limit:ratio"),
                    limit("trader:failure_ratio_min_failures:count", "failures needed before alerting", "orange",
                          right=True)],
            links=problem_links(),
            description="Orders that failed to be placed: the exchange API failed them or the margin could not "
                        "fund them (left axis), and how many in 5 minutes (right axis): the alert pages above the "
                        "red line once more failures than the orange line happened. Reduce-only exits without a "
                        "position and post-only orders that would take are rejected by design and not counted; "
                        "the reasons are in 'Rejections by reason'."),
        timeseries(2, "API error rate by exchange and endpoint", [
            prom(f"exchange:trader_api_errors:ratio_rate5m{EXCHANGE}", "{{exchange}} (all endpoints)"),
            prom(f"exchange_endpoint:trader_api_errors:ratio_rate5m{EXCHANGE}", "{{exchange}} {{endpoint}}"),
        ], RATIO, min=0, alerts=("TraderApiErrorRateHigh",),
            right=[prom(f"exchange:trader_api_errors:increase5m{EXCHANGE}", "errors (5m) {{exchange}}")],
            limits=[limit("trader:api_error_limit:ratio"),
                    limit("trader:failure_ratio_min_failures:count", "errors needed before alerting", "orange",
                          right=True)],
            links=problem_links(),
            description="Share of API requests that failed (left axis) and how many in 5 minutes (right axis): the "
                        "alert fires above the red line once more errors than the orange line happened."),
        timeseries(3, "Order latency p99 (submit to acknowledged)", [
            prom(f"exchange:trader_order_latency_seconds:p99_5m{EXCHANGE}", "{{exchange}}"),
        ], SECONDS, alerts=("TraderOrderLatencyHigh",), limits=[limit("trader:latency_limit:seconds")]),
        timeseries(4, "API latency p99", [
            prom(f"exchange:trader_api_request_duration_seconds:p99_5m{EXCHANGE}", "{{exchange}} (all endpoints)"),
            prom(f"exchange_endpoint:trader_api_request_duration_seconds:p99_5m{EXCHANGE}", "{{exchange}} {{endpoint}}"),
        ], SECONDS, alerts=("TraderApiLatencyHigh",), limits=[limit("trader:latency_limit:seconds")]),
        timeseries(5, "Mean slippage of taker fills", [
            prom(f"account_exchange:trader_slippage_bps:mean5m{ACC_EX}", "{{account}} {{exchange}}"),
        ], BPS, alerts=("TraderSlippageHigh",), limits=[limit("trader:slippage_limit:bps")],
            description="Adverse slippage against the mid at submission (a stop's: at its trigger); maker fills have none."),
        heatmap(13, "Order latency distribution",
                f"sum by (le) (rate(trader_order_latency_seconds_bucket{EXCHANGE}[$__rate_interval]))", SECONDS, w=12),
        timeseries(6, "Order-success error budget burn rate", [
            prom(f"exchange:trader_order_failures:ratio_rate{window}{EXCHANGE} / on () group_left () "
                 "(1 - trader:order_success_slo:ratio)", f"{{{{exchange}}}} {window}")
            for window in BURN_WINDOWS
        ], "suffix:x", w=24, alerts=("TraderOrderSuccessBudgetBurn",),
            right=[prom(f"exchange:trader_orders_submitted:increase{window}{EXCHANGE}", f"orders {{{{exchange}}}} {window}")
                   for window in ("1d", "3d")],
            limits=[limit("trader:order_slo_min_orders:count", "orders needed for the slow burn", "orange", right=True)],
            description="How many times faster than the SLO (trader:order_success_slo:ratio) allows the order "
                        "failures spend the 30-day error budget; 1x spends it in exactly 30 days. The alert pages "
                        "when a long window and its short window (1h and 5m, 6h and 30m) both burn fast; "
                        "the factors are in prometheus/rules/slo.yml. The slow burn (1d and 3d, a ticket) also "
                        "needs more orders in its long window than the orange line (right axis): on fewer, the "
                        "paper broker's own 1 % failures look like a burn."),
        timeseries(7, "Fill rate and post-only success (1h)", [
            prom(f"account_exchange:trader_order_fill:ratio_rate1h{ACC_EX}", "fill {{exchange}}"),
            prom(f"account_exchange:trader_post_only_success:ratio_rate1h{ACC_EX}", "post-only maker {{exchange}}"),
        ], RATIO, w=6, min=0, max=1,
            description="fill: the share of submitted orders that filled completely (one partly filled, then "
                        "canceled, counts as canceled); post-only maker: the share not refused for crossing."),
        timeseries(15, "Rejections by reason", [
            prom(f"sum by (trader, exchange, reason) (rate(trader_order_rejections_total{ACC_EX}[$__rate_interval]))",
                 "{{exchange}} {{reason}}"),
        ], OPS, w=6, stack=True, links=problem_links(),
            description="api_error and insufficient_margin are placement failures (what TraderOrderFailuresHigh "
                        "counts); reduce_only (the position was already gone) and post_only_would_take (the order "
                        "refused to take) are the order types doing their job."),
        timeseries(8, "Rejections by symbol", [
            prom(f"sum by (trader, exchange, symbol) (rate(trader_orders_total{REJECTED}[$__rate_interval]))",
                 "{{exchange}} {{symbol}}"),
        ], OPS, w=6, links=problem_links()),
        timeseries(9, "Rejections by order type", [
            prom(f"sum by (trader, order_type) (rate(trader_orders_by_type_total{REJECTED_BY_TYPE}[$__rate_interval]))",
                 "{{order_type}}"),
        ], OPS, w=6, links=problem_links(),
            description="All rejections, benign ones included; their reasons are in 'Rejections by reason'."),
        timeseries(10, "Orders submitted, and failed to be placed", [
            prom(f"account_exchange:trader_orders_submitted:rate5m{ACC_EX}", "submitted {{account}} {{exchange}}"),
            prom(f"sum by (trader, account, exchange) (rate(account_exchange_reason:trader_order_placement_failures:total"
                 f"{ACC_EX}[$__rate_interval]))", "failed to be placed {{account}} {{exchange}}"),
        ], OPS, links=problem_links(),
            description="Failed to be placed: the rejections TraderOrderFailuresHigh counts (API errors and "
                        "insufficient margin), the numerator of 'Order failures'."),
        timeseries(11, "API requests by exchange and endpoint", [
            prom(f"exchange_endpoint:trader_api_requests:rate5m{EXCHANGE}", "{{exchange}} {{endpoint}}"),
        ], OPS),
        timeseries(12, "API errors by exchange and endpoint", [
            prom(f"sum by (trader, exchange, endpoint) (increase(trader_api_requests_total{API_ERRORS}[$__rate_interval]))",
                 "{{exchange}} {{endpoint}}"),
        ], SHORT, w=12, draw="bars", links=problem_links()),
        timeseries(14, "Traded volume per hour", [
            prom(f"account_exchange:trader_volume_usdt:rate1h{ACC_EX} * 3600", "{{account}} {{exchange}}"),
        ], USDT, w=12, description="Filled notional, averaged over the last hour."),
        # --- exchange accounts watched through read-only keys (trader/accounts/) ---
        timeseries(16, "Exchange rate-limit usage (its own count)", [
            prom(f"trader_api_rate_limit_usage_ratio{ACC_EX}", "{{account}} {{exchange}}"),
        ], RATIO, w=8, min=0, max=1, alerts=("TraderApiRateLimitHigh",),
            limits=[limit("trader:rate_limit_usage_limit:ratio")],
            description="What the exchange says of its rate limit for an exchange account's requests: Binance's "
                        "used weight of 2,400 a minute, Bybit's limit status, OKX's limits as ccxt encodes them. "
                        "Past 100 % it refuses (429) and may ban the IP (418). Absent without an exchange account."),
        timeseries(17, "Exchange account data age", [
            prom(f"account_exchange:trader_account_staleness:seconds{ACC_EX}", "{{account}} {{exchange}}"),
        ], SECONDS, w=8, min=0, alerts=("TraderAccountStale",),
            limits=[limit("trader:account_staleness_limit:seconds")], links=problem_links(),
            description="Time since the trader last read the account completely (since watching began, if "
                        "never): how old its equity, positions and liquidation distances are."),
        timeseries(18, "Exchange account API errors by reason", [
            prom(f"sum by (trader, exchange, reason) (increase(trader_api_errors_total{EXCHANGE}[$__rate_interval]))",
                 "{{exchange}} {{reason}}"),
        ], SHORT, w=8, draw="bars", stack=True, links=problem_links(),
            description="auth: the key was refused; region: the exchange refuses this country or IP; "
                        "rate_limited; timestamp: the clock (resynced, then retried); server; timeout; "
                        "malformed: an answer not as documented; network: no connection."),
    ],
)
