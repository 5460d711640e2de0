"""The order-failure ratios (TraderOrderFailuresHigh and the order-success SLO) count the broker's
placement failures, and only them, over every order submitted.

The classification lives in two languages: ``trader.vocabulary.PLACEMENT_FAILURE_REASONS`` and
PromQL, where one recording rule of prometheus/rules/execution.yml writes it once and every
failure ratio reads that rule. This test keeps the two one set, so a reason added to the broker
cannot silently page (or silently stop paging) without the rules being decided on.
"""

from __future__ import annotations

import re

from tests.prometheus.prom_rule_files import load_rules, metric_names
from trader.vocabulary import PLACEMENT_FAILURE_REASONS, REJECT_REASONS

PLACEMENT_FAILURES = "account_exchange_reason:trader_order_placement_failures:total"
FAILURE_RATIOS = re.compile(r":trader_order_failures:ratio_rate\w+$")
REASON_MATCHER = re.compile(r'^trader_order_rejections_total\{reason=~"([^"]*)"\}$')


def _failure_ratio_rules() -> list:
    return [rule for rule in load_rules() if not rule.is_alert and FAILURE_RATIOS.search(rule.name)]


def test_the_placement_failures_are_recorded_once_with_the_brokers_reasons() -> None:
    [rule] = [r for r in load_rules() if r.name == PLACEMENT_FAILURES]
    assert rule.file == "execution.yml"
    match = REASON_MATCHER.match(rule.body["expr"].strip())
    assert match, f"{PLACEMENT_FAILURES}: expected a selection of trader_order_rejections_total by reason"
    assert set(match.group(1).split("|")) == set(PLACEMENT_FAILURE_REASONS), \
        f"{PLACEMENT_FAILURES} counts {match.group(1)}, expected {'|'.join(PLACEMENT_FAILURE_REASONS)}"
    # No other rule picks rejections by reason: the list is written in this one place.
    others = [r.name for r in load_rules() if r.name != PLACEMENT_FAILURES and 'reason=~"' in r.body["expr"]
              and "trader_order_rejections_total" in r.body["expr"]]
    assert others == []


def test_every_failure_ratio_counts_exactly_the_placement_failures_over_all_submitted() -> None:
    rules = _failure_ratio_rules()
    # The alert's 5m ratio per account and the SLO's seven windows per exchange.
    assert {r.file for r in rules} == {"execution.yml", "slo.yml"} and len(rules) == 8, [r.name for r in rules]
    for rule in rules:
        expr = rule.body["expr"]
        numerator, denominator = re.split(r"\n\s*/\s*\n", expr)
        assert metric_names(numerator) == {PLACEMENT_FAILURES}, \
            f"{rule.name} ({rule.file}): counts {sorted(metric_names(numerator))}, expected {PLACEMENT_FAILURES}"
        # Every order submitted: no order type or other status filter in the denominator.
        assert re.search(r'rate\(trader_orders_total\{status="submitted"\}\[\w+\]\)', denominator), \
            f"{rule.name} ({rule.file}): denominator {denominator.strip()!r} is not every order submitted"
        assert "trader_orders_by_type_total" not in expr, f"{rule.name}: reads rejections without their reason"


def test_benign_reasons_are_known_to_the_broker_and_never_counted() -> None:
    benign = set(REJECT_REASONS) - set(PLACEMENT_FAILURE_REASONS)
    assert benign == {"reduce_only", "post_only_would_take"}
    for rule in _failure_ratio_rules() + [r for r in load_rules() if r.name == PLACEMENT_FAILURES]:
        for reason in benign:
            assert reason not in rule.body["expr"], f"{rule.name}: counts the benign rejection {reason}"
