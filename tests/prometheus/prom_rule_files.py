"""Read the committed rule files and their promtool tests, and pull names out of PromQL.

    >>> rules = load_rules()
    >>> "TraderDrawdownHigh" in alert_names(rules)
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.trader import REPO_ROOT

__all__ = [
    "PROM_DIR", "RULES_DIR", "TESTS_DIR", "RUNBOOKS_DIR", "Rule", "load_rules", "load_tests",
    "alert_names", "record_names", "metric_names", "rewrite_config_for",
]

PROM_DIR = REPO_ROOT / "prometheus"
RULES_DIR = PROM_DIR / "rules"
TESTS_DIR = PROM_DIR / "tests"
RUNBOOKS_DIR = REPO_ROOT / "docs" / "runbooks"
CONTAINER_RULES = "/etc/prometheus/rules/*.yml"


@dataclass(frozen=True)
class Rule:
    file: str  # rule file name, e.g. "risk.yml"
    group: str
    body: dict  # the rule as written: record/alert, expr, for, labels, annotations

    @property
    def name(self) -> str:
        return self.body.get("alert") or self.body["record"]

    @property
    def is_alert(self) -> bool:
        return "alert" in self.body


def load_rules(rules_dir: Path = RULES_DIR) -> list[Rule]:
    rules = []
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [Rule(path.name, group["name"], body) for body in group["rules"]]
    return rules


def load_tests(tests_dir: Path = TESTS_DIR) -> dict[str, dict]:
    """Test file name -> its parsed YAML."""
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(tests_dir.glob("*_test.yml"))}


def alert_names(rules: list[Rule]) -> set[str]:
    return {rule.name for rule in rules if rule.is_alert}


def record_names(rules: list[Rule]) -> set[str]:
    return {rule.name for rule in rules if not rule.is_alert}


# PromQL words that look like metric names but are not.
_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "group",
    "count_values", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
    "unless", "offset", "bool", "atan2", "inf", "nan", "le",
}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric (and recorded series) names an expression selects. Function names are left out
    because a function is always followed by '('; label names by removing matchers and groupings."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word = match.group()
        following = text[match.end():].lstrip()[:1]
        if following == "(" or word in _KEYWORDS or re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names


def rewrite_config_for(config_text: str, rules_dir: Path, replacements: dict[str, str] | None = None) -> str:
    """``prometheus.yml`` with the container's rule path pointing at ``rules_dir`` (and any other
    literal ``replacements``, e.g. a compose target -> a test port)."""
    if CONTAINER_RULES not in config_text:
        raise AssertionError(f"prometheus.yml: rule_files should hold {CONTAINER_RULES!r}")
    text = config_text.replace(CONTAINER_RULES, str(rules_dir / "*.yml"))
    for old, new in (replacements or {}).items():
        if old not in text:
            raise AssertionError(f"prometheus.yml: expected {old!r} to rewrite for the test")
        text = text.replace(old, new)
    return text
