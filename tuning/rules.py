"""The rule files as the tool needs them: alerts, recording rules, and thresholds with their bytes.

A *threshold* is a recording rule whose expression is one number (``vector(0.10)``, or ``0.10``):
the project writes every alert threshold that way (prometheus/README.md). ``RuleSet.alert(name)``
finds an alert's rules; ``thresholds_read_by(alert)`` the threshold rules its expression reads
(by selector name and matchers, so ``trader:host_cpu_limit:ratio{severity="warning"}`` picks the
warning line); each ``Threshold`` knows the exact character span of its number in its file, which
is all ``--apply`` rewrites.

    rules = RuleSet.load(sorted(Path("prometheus/rules").glob("*.yml")))
    alert = rules.alert("TraderDrawdownHigh")          # list of AlertRule (one per severity)
    [t.value for t in rules.thresholds_read_by(alert)]  # [0.1]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import promql_parser
import yaml

from .errors import TuningError
from .timeparse import parse_duration

__all__ = ["AlertRule", "RecordingRule", "Threshold", "RuleSet", "selectors_of", "matches"]

_NUMBER_EXPR = re.compile(r"\s*(?:vector\s*\(\s*)?(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\s*\))?\s*")


@dataclass(frozen=True)
class RecordingRule:
    name: str
    expr: str
    labels: tuple[tuple[str, str], ...]
    group: str
    interval: float | None  # the group's own interval; None: the global evaluation_interval
    path: Path


@dataclass(frozen=True)
class Threshold:
    rule: RecordingRule
    value: float
    text: str        # the number as written, e.g. "0.10"
    start: int       # character offsets of ``text`` in the file
    end: int
    line: int        # 1-based line of the number

    @property
    def selector(self) -> str:
        labels = ",".join(f'{k}="{v}"' for k, v in self.rule.labels)
        return f"{self.rule.name}{{{labels}}}" if labels else self.rule.name


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_seconds: float
    keep_firing_for_seconds: float
    labels: tuple[tuple[str, str], ...]
    group: str
    interval: float | None
    path: Path


def matches(matcher, value: str) -> bool:
    """Does a promql_parser ``Matcher`` accept ``value`` (missing labels are "")?"""
    op = matcher.op
    if op == promql_parser.MatchOp.Equal:
        return value == matcher.value
    if op == promql_parser.MatchOp.NotEqual:
        return value != matcher.value
    found = re.fullmatch(matcher.value, value) is not None  # PromQL regexes are fully anchored
    return found if op == promql_parser.MatchOp.Re else not found


def selectors_of(expr: str) -> list:
    """Every vector selector (``promql_parser.VectorSelector``) in ``expr``."""
    found: list = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(_parse(expr), visit)
    return found


def _parse(expr: str):
    try:
        return promql_parser.parse(expr)
    except Exception as error:  # the parser raises its own ValueError-like types
        raise TuningError(f"cannot parse PromQL {expr.strip()!r}: {error}") from None


def _name_matchers(selector) -> tuple[str | None, list]:
    matchers = [m for m in selector.matchers.matchers]
    name = selector.name or next((m.value for m in matchers
                                  if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal), None)
    return name, [m for m in matchers if m.name != "__name__"]


@dataclass
class RuleSet:
    alerts: list[AlertRule] = field(default_factory=list)
    records: list[RecordingRule] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)

    @classmethod
    def load(cls, paths: Iterable[Path]) -> "RuleSet":
        rules = cls()
        paths = list(paths)
        if not paths:
            raise TuningError("no rule files: expected prometheus/rules/*.yml (give --rules GLOB)")
        for path in paths:
            rules._load_file(Path(path))
        return rules

    def _load_file(self, path: Path) -> None:
        try:
            text = path.read_bytes().decode("utf-8")
            root = yaml.compose(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise TuningError(f"rule file {path}: cannot read it ({error})") from None
        doc = yaml.safe_load(text) or {}
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not isinstance(groups, list):
            raise TuningError(f"rule file {path}: expected a 'groups:' list")
        group_nodes = _mapping_get(root, "groups").value
        for group, group_node in zip(groups, group_nodes):
            interval = group.get("interval")
            interval_s = parse_duration(interval, f"{path} group {group.get('name')} interval") if interval else None
            rule_nodes = _mapping_get(group_node, "rules")
            for rule, rule_node in zip(group.get("rules") or [], rule_nodes.value if rule_nodes else []):
                labels = tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items()))
                expr = str(rule.get("expr", ""))
                if "alert" in rule:
                    self.alerts.append(AlertRule(
                        rule["alert"], expr,
                        parse_duration(rule.get("for", "0s"), f"{rule['alert']} for"),
                        parse_duration(rule.get("keep_firing_for", "0s"), f"{rule['alert']} keep_firing_for"),
                        labels, group["name"], interval_s, path))
                    continue
                record = RecordingRule(rule["record"], expr, labels, group["name"], interval_s, path)
                self.records.append(record)
                threshold = _threshold(record, _mapping_get(rule_node, "expr"), text)
                if threshold is not None:
                    self.thresholds.append(threshold)

    # --- look-ups ---------------------------------------------------------------------------

    def alert(self, name: str) -> list[AlertRule]:
        found = [a for a in self.alerts if a.name == name]
        if not found:
            known = sorted({a.name for a in self.alerts})
            close = [k for k in known if k.lower().startswith(name.lower()[:8])] or known[:5]
            raise TuningError(f"unknown alert {name!r}: no alerting rule of that name in the rule files "
                              f"(did you mean {', '.join(close)}?)")
        return found

    def _resolve(self, selector, candidates: Sequence) -> list:
        name, matchers = _name_matchers(selector)
        out = []
        for item in candidates:
            rule = item.rule if isinstance(item, Threshold) else item
            if rule.name != name:
                continue
            labels = dict(rule.labels)
            if all(matches(m, labels.get(m.name, "")) for m in matchers):
                out.append(item)
        return out

    def thresholds_of_expr(self, expr: str) -> list[Threshold]:
        seen: list[Threshold] = []
        for selector in selectors_of(expr):
            for threshold in self._resolve(selector, self.thresholds):
                if threshold not in seen:
                    seen.append(threshold)
        return seen

    def thresholds_read_by(self, alert: Sequence[AlertRule]) -> list[Threshold]:
        seen: list[Threshold] = []
        for rule in alert:
            for threshold in self.thresholds_of_expr(rule.expr):
                if threshold not in seen:
                    seen.append(threshold)
        return seen

    def alerts_reading(self, threshold: Threshold) -> list[str]:
        return sorted({a.name for a in self.alerts if threshold in self.thresholds_of_expr(a.expr)})

    def recorded_dependencies(self, alert: Sequence[AlertRule]) -> list[list[RecordingRule]]:
        """The non-threshold recording rules the alert reads, transitively, in levels: level 0 reads
        only raw series, level 1 reads level 0, and so on (the order a backfill must follow)."""
        threshold_rules = {t.rule for t in self.thresholds}
        needed: dict[RecordingRule, set[RecordingRule]] = {}
        todo = [a.expr for a in alert]
        while todo:
            expr = todo.pop()
            for selector in selectors_of(expr):
                for record in self._resolve(selector, self.records):
                    if record in threshold_rules or record in needed:
                        continue
                    needed[record] = set()
                    todo.append(record.expr)
        for record in needed:
            for selector in selectors_of(record.expr):
                needed[record].update(r for r in self._resolve(selector, list(needed)) if r != record)
        levels: list[list[RecordingRule]] = []
        placed: set[RecordingRule] = set()
        while len(placed) < len(needed):
            level = [r for r in needed if r not in placed and needed[r] <= placed]
            if not level:
                raise TuningError("recording rules read each other in a cycle: "
                                  + ", ".join(sorted(r.name for r in needed if r not in placed)))
            levels.append(level)
            placed.update(level)
        return levels


def _mapping_get(node, key: str):
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == key:
            return value_node
    return None


def _threshold(record: RecordingRule, expr_node, text: str) -> Threshold | None:
    """The rule as a threshold, with the span of its number in ``text``; None if not one number."""
    match = _NUMBER_EXPR.fullmatch(record.expr)
    if match is None or expr_node is None:
        return None
    number = match.group("number")
    source = text[expr_node.start_mark.index:expr_node.end_mark.index]
    at = source.find(number)
    if at < 0 or expr_node.style not in (None, "'", '"'):  # block scalars: not a one-line threshold
        return None
    start = expr_node.start_mark.index + at
    return Threshold(record, float(number), number, start, start + len(number), text.count("\n", 0, start) + 1)
