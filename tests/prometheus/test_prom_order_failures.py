"""The order-failure ratios (TraderOrderFailuresHigh and the order-success SLO) count the broker's
placement failures, and only them, over every order submitted.

The reasons live in two languages: ``trader.broker.PLACEMENT_FAILURE_REASONS`` and the PromQL of
prometheus/rules. This test keeps them one set, so a reason added to the broker cannot silently
page (or silently stop paging) without the rules being decided on.
"""

from __future__ import annotations

import re

from tests.prometheus.prom_rule_files import load_rules
from trader.broker import PLACEMENT_FAILURE_REASONS, REJECT_REASONS

FAILURE_RATIOS = re.compile(r":trader_order_failures:ratio_rate\w+$")
REASON_MATCHER = re.compile(r'trader_order_rejections_total\{reason=~"([^"]*)"\}')


def _failure_ratio_rules() -> list:
    return [rule for rule in load_rules() if not rule.is_alert and FAILURE_RATIOS.search(rule.name)]


def test_every_failure_ratio_counts_exactly_the_placement_failures_over_all_submitted() -> None:
    rules = _failure_ratio_rules()
    # The alert's 5m ratio per account and the SLO's seven windows per exchange.
    assert {r.file for r in rules} == {"execution.yml", "slo.yml"} and len(rules) == 8, [r.name for r in rules]
    for rule in rules:
        expr = rule.body["expr"]
        numerator, denominator = re.split(r"\n\s*/\s*\n", expr)
        reasons = REASON_MATCHER.findall(numerator)
        assert len(reasons) == 1 and set(reasons[0].split("|")) == set(PLACEMENT_FAILURE_REASONS), \
            f"{rule.name} ({rule.file}): counts reasons {reasons}, expected {'|'.join(PLACEMENT_FAILURE_REASONS)}"
        # Every order submitted: no order type or other status filter in the denominator.
        assert re.search(r'rate\(trader_orders_total\{status="submitted"\}\[\w+\]\)', denominator), \
            f"{rule.name} ({rule.file}): denominator {denominator.strip()!r} is not every order submitted"
        assert "trader_orders_by_type_total" not in expr, f"{rule.name}: reads rejections without their reason"


def test_benign_reasons_are_known_to_the_broker_and_never_counted() -> None:
    benign = set(REJECT_REASONS) - set(PLACEMENT_FAILURE_REASONS)
    assert benign == {"reduce_only", "post_only_would_take"}
    for rule in _failure_ratio_rules():
        for reason in benign:
            assert reason not in rule.body["expr"], f"{rule.name}: counts the benign rejection {reason}"
