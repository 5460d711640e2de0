"""An alert's expression with its thresholds written in as numbers, and the series it compares.

``with_thresholds(expr, values)`` replaces each threshold selector by the series the threshold
rule would have recorded: ``vector(V)`` with the rule's labels (``label_replace``), so matching
(``on()``, ``group_left``, ``on(severity)``) works exactly as against the recorded series. The
tuned threshold gets each candidate value; the others keep the number in their rule file. The
query then needs no threshold series in the TSDB (a replay's TSDB has none).

``compared_series(expr, threshold)`` is the other side of the comparison that reads the
threshold (``trader_drawdown_ratio`` in ``trader_drawdown_ratio > on () group_left ()
trader:drawdown_limit:ratio``): what the sweep chart plots. None when the threshold is not
compared on its own (an SLO target inside a burn-rate ratio).

    expr = with_thresholds(rule.expr, {drawdown_threshold: 0.12}, rules)
"""

from __future__ import annotations

import promql_parser

from .rules import RuleSet, Threshold, _parse, matches

__all__ = ["with_thresholds", "compared_series", "threshold_side", "format_number"]

_COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def format_number(value: float) -> str:
    """A float as PromQL reads it back exactly (``0.12``, ``3600``, ``1e-05``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _series_of(threshold: Threshold, value: float) -> str:
    expr = f"vector({format_number(value)})"
    for name, label_value in threshold.rule.labels:
        escaped = label_value.replace("\\", "\\\\").replace('"', '\\"')
        expr = f'label_replace({expr}, "{name}", "{escaped}", "", "")'
    return expr


def _matched(selector, rules: RuleSet) -> list[Threshold]:
    return [t for t in rules.thresholds if t.rule.name == selector.name
            and all(matches(m, dict(t.rule.labels).get(m.name, "")) for m in selector.matchers.matchers
                    if m.name != "__name__")]


def with_thresholds(expr: str, values: dict[Threshold, float], rules: RuleSet) -> str:
    """``expr`` with every threshold selector replaced by its value (``values``, else its file's)."""

    def replace(node):
        if isinstance(node, promql_parser.VectorSelector):
            found = _matched(node, rules)
            if found:
                parts = [_series_of(t, values.get(t, t.value)) for t in found]
                return promql_parser.parse("(" + " or ".join(parts) + ")")
        return None

    return str(promql_parser.transform(_parse(expr), post_visit=replace))


def _reads(node, threshold: Threshold, rules: RuleSet) -> tuple[bool, bool]:
    """(reads the threshold, reads any other selector) for the subtree ``node``."""
    seen = {"threshold": False, "other": False}

    def visit(child):
        if isinstance(child, promql_parser.VectorSelector):
            if threshold in _matched(child, rules):
                seen["threshold"] = True
            else:
                seen["other"] = True

    promql_parser.walk(node, visit)
    return seen["threshold"], seen["other"]


def _comparison_sides(expr: str, threshold: Threshold, rules: RuleSet) -> tuple[str, str] | None:
    found: list[tuple[str, str]] = []

    def visit(node):
        if isinstance(node, promql_parser.BinaryExpr) and str(node.op) in _COMPARISONS:
            if node.modifier is not None and node.modifier.return_bool:
                return
            for side, other in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
                reads, reads_other = _reads(side, threshold, rules)
                if reads and not reads_other:  # this side is the threshold alone (maybe -1 * T)
                    found.append((str(other), str(side)))
                    return

    promql_parser.walk(_parse(expr), visit)
    return found[0] if found else None


def compared_series(expr: str, threshold: Threshold, rules: RuleSet) -> str | None:
    sides = _comparison_sides(expr, threshold, rules)
    return sides[0] if sides else None


def threshold_side(expr: str, threshold: Threshold, rules: RuleSet) -> str | None:
    """The comparison's threshold side (``trader:x``, ``-1 * trader:x``), or None."""
    sides = _comparison_sides(expr, threshold, rules)
    return sides[1] if sides else None
