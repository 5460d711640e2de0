"""Every alert has a promtool case where it fires (labels and annotations asserted) and one where
it stays quiet; every recording rule has an expression test; the rules keep DESIGN.md's
conventions. (The tables of docs/architecture.md and prometheus/README.md are generated from the
rules: tests/docs/test_generated_files.py keeps them fresh.)"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.prometheus.prom_rule_files import (
    RULES_DIR, TESTS_DIR, load_rules, load_tests, alert_names, record_names, metric_names,
)

RULES = load_rules()
TESTS = load_tests()
ALERTS = [rule for rule in RULES if rule.is_alert]
FAMILIES = ["trading", "risk", "execution", "market_data", "system", "slo", "meta", "accounts"]
SEVERITIES = {"critical", "warning", "info", "none"}
CATEGORIES = {"trading", "risk", "execution", "market", "system", "meta"}
DASHBOARD_UIDS = {"trader-overview", "trader-strategy", "trader-risk", "trader-execution",
                  "trader-market-data", "trader-system", "trader-logs"}
# The Watchdog fires whenever rules are evaluated; it has no quiet case by design.
ALWAYS_FIRING = {"Watchdog"}


def _alert_cases() -> tuple[dict[str, list[dict]], set[str]]:
    """alertname -> expected alerts of its firing cases; alertnames with a quiet case."""
    firing, quiet = defaultdict(list), set()
    for test_file in TESTS.values():
        for case in test_file["tests"]:
            for check in case.get("alert_rule_test") or []:
                if check.get("exp_alerts"):
                    firing[check["alertname"]] += check["exp_alerts"]
                else:
                    quiet.add(check["alertname"])
    return firing, quiet


def _expression_tests() -> list[str]:
    return [check["expr"] for test_file in TESTS.values() for case in test_file["tests"]
            for check in case.get("promql_expr_test") or []]


def test_one_rule_file_and_one_test_file_per_family() -> None:
    assert sorted(p.stem for p in RULES_DIR.glob("*.yml")) == sorted(FAMILIES)
    assert sorted(TESTS) == sorted(f"{family}_test.yml" for family in FAMILIES)
    recorded_in = {family: {r.name for r in RULES if r.file == f"{family}.yml" and not r.is_alert}
                   for family in FAMILIES}
    for family in FAMILIES:
        files = TESTS[f"{family}_test.yml"]["rule_files"]
        assert files[-1] == f"../rules/{family}.yml", f"{family}_test.yml: rule_files {files}"
        # Another family's file only where this one reads a series that file records.
        read = set().union(*(metric_names(r.body["expr"]) for r in RULES if r.file == f"{family}.yml"))
        for other in files[:-1]:
            name = other.removeprefix("../rules/").removesuffix(".yml")
            assert read & recorded_in.get(name, set()), f"{family}_test.yml loads {other}, whose series it never reads"


@pytest.mark.parametrize("family", FAMILIES)
def test_thresholds_come_first_in_their_own_group(family: str) -> None:
    groups = [rule.group for rule in RULES if rule.file == f"{family}.yml"]
    first = groups[0]
    assert first.endswith(("-thresholds", "-targets")), f"{family}.yml: first group {first!r}"
    threshold_rules = [r for r in RULES if r.file == f"{family}.yml" and r.group == first]
    for rule in threshold_rules:
        assert re.fullmatch(r"vector\([0-9.]+\)", rule.body["expr"].strip()), \
            f"{rule.name}: a threshold is a constant, vector(<number>), got {rule.body['expr']!r}"
        assert re.search(r"_(limit|slo)(_[a-z]+)?:|:count$", rule.name), rule.name


def test_every_alert_fires_in_a_test_with_labels_and_annotations_asserted() -> None:
    firing, _ = _alert_cases()
    problems = []
    for rule in ALERTS:
        severity = rule.body["labels"]["severity"]
        cases = [a for a in firing.get(rule.name, []) if a.get("exp_labels", {}).get("severity") == severity]
        if not cases:
            problems.append(f"{rule.name} (severity {severity}): no promtool case where it fires")
            continue
        for expected in cases:
            labels, annotations = expected.get("exp_labels", {}), expected.get("exp_annotations", {})
            if labels.get("category") != rule.body["labels"]["category"]:
                problems.append(f"{rule.name}: firing case does not assert category")
            missing = {"summary", "description", "runbook_url", "dashboard_url"} - set(annotations)
            if missing:
                problems.append(f"{rule.name}: firing case does not assert {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_every_alert_has_a_quiet_case_with_a_reason() -> None:
    _, quiet = _alert_cases()
    missing = sorted(alert_names(RULES) - quiet - ALWAYS_FIRING)
    assert not missing, f"alerts with no promtool case where they stay quiet: {missing}"
    # The reason is a comment next to the quiet case's input (promtool drops comments, so read text).
    for name, text in ((n, (TESTS_DIR / n).read_text()) for n in TESTS):
        for block in re.split(r"\n  - name: ", text)[1:]:
            if "exp_alerts: []" in block:
                assert "#" in block, f"{name}: quiet case {block.splitlines()[0]!r} has no comment saying why"


def test_every_recording_rule_has_an_expression_test() -> None:
    tested = set().union(*(metric_names(expr) for expr in _expression_tests()))
    missing = sorted(record_names(RULES) - tested)
    assert not missing, f"recording rules with no promql_expr_test: {missing}"


def test_recording_rules_are_named_level_metric_operation() -> None:
    for name in record_names(RULES):
        assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", name), f"{name}: not level:metric:operation"


def test_alerts_follow_the_label_and_annotation_conventions() -> None:
    problems = []
    for rule in ALERTS:
        labels, annotations = rule.body.get("labels", {}), rule.body.get("annotations", {})
        if labels.get("severity") not in SEVERITIES:
            problems.append(f"{rule.name}: severity {labels.get('severity')!r}")
        if labels.get("category") not in CATEGORIES:
            problems.append(f"{rule.name}: category {labels.get('category')!r}")
        if annotations.get("runbook_url") != f"docs/runbooks/{rule.name}.md":
            problems.append(f"{rule.name}: runbook_url {annotations.get('runbook_url')!r}")
        match = re.fullmatch(r"/d/([a-z-]+)\?viewPanel=(\d+)", annotations.get("dashboard_url", ""))
        if not match or match.group(1) not in DASHBOARD_UIDS:
            problems.append(f"{rule.name}: dashboard_url {annotations.get('dashboard_url')!r}")
        if "\n" in annotations.get("summary", "") or not annotations.get("description"):
            problems.append(f"{rule.name}: summary must be one line and description present")
    assert not problems, "\n".join(problems)


def test_alert_expressions_hold_no_stray_threshold_numbers() -> None:
    """Thresholds live in recording rules; an alert may only compare with 0/1 (states) or, in
    slo.yml, with the SRE workbook's burn-rate factors."""
    allowed = {"0", "1", "-1"}
    slo_factors = {"14.4", "6", "3"}
    for rule in ALERTS:
        expr = re.sub(r"\[[^\]]*\]|\"[^\"]*\"|[a-zA-Z_:][a-zA-Z0-9_:]*", " ", rule.body["expr"])
        numbers = set(re.findall(r"-?\d+(?:\.\d+)?", expr)) - allowed
        if rule.file == "slo.yml":
            numbers -= slo_factors
        assert not numbers, f"{rule.name}: numbers {sorted(numbers)} belong in a threshold recording rule"


def test_host_thresholds_have_a_warning_and_a_critical_level() -> None:
    for prefix in ("trader:host_cpu_limit", "trader:host_memory_limit", "trader:host_disk_limit"):
        severities = {r.body.get("labels", {}).get("severity") for r in RULES if r.name.startswith(prefix)}
        assert severities == {"warning", "critical"}, f"{prefix}: severities {severities}"
