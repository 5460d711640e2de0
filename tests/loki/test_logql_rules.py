"""loki/rules/fake/*.yml: valid rule files, labelled and annotated like the Prometheus rules.

Loki's ruler reads Prometheus' rule format with LogQL expressions. No Loki binary here, so the
expressions are checked structurally: balanced delimiters, a range, stream labels that the Alloy
pipeline actually promotes, and template labels that the aggregation keeps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from tests.loki.loki_checks import logql_parts

REPO = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((REPO / "loki" / "rules" / "fake").glob("*.yml"))
PROMOTED_LABELS = {"service", "level", "exchange"}  # loki/config.alloy, tested in test_alloy_pipeline.py
SEVERITIES = {"critical", "warning", "info"}
CATEGORIES = {"trading", "risk", "execution", "market", "system", "meta"}
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
GROUP_KEYS = {"name", "interval", "rules", "limit"}


def _rules():
    assert RULE_FILES, "loki/rules/fake/ holds no *.yml rule file"
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                yield pytest.param(rule, id=rule.get("alert") or rule.get("record"))


def test_files_have_the_rule_file_shape():
    names = []
    for path in RULE_FILES:
        document = yaml.safe_load(path.read_text())
        assert set(document) == {"groups"}, f"{path.name}: only 'groups' at the top"
        for group in document["groups"]:
            assert set(group) <= GROUP_KEYS, f"{path.name}: group keys {sorted(set(group) - GROUP_KEYS)}"
            names.append(group["name"])
            assert group["rules"], f"{path.name}: group {group['name']} has no rules"
    assert len(names) == len(set(names)), f"duplicate group names {names}"


def test_alert_names_are_unique_and_not_prometheus_names():
    alerts = [rule.values[0]["alert"] for rule in _rules()]
    assert len(alerts) == len(set(alerts))
    prometheus_rules = "\n".join(p.read_text() for p in (REPO / "prometheus" / "rules").glob("*.yml"))
    clashes = [a for a in alerts if re.search(rf"alert:\s*{a}\s*$", prometheus_rules, re.M)]
    assert not clashes, f"{clashes} also defined in prometheus/rules: one name, one rule"


@pytest.mark.parametrize("rule", list(_rules()))
def test_rule_has_our_labels_and_annotations(rule):
    assert set(rule) <= RULE_KEYS, f"unknown keys {sorted(set(rule) - RULE_KEYS)}"
    assert re.fullmatch(r"[0-9]+[smh]", str(rule["for"])), f"for: {rule['for']!r}"
    assert rule["labels"]["severity"] in SEVERITIES
    assert rule["labels"]["category"] in CATEGORIES
    notes = rule["annotations"]
    assert {"summary", "description", "runbook_url", "dashboard_url"} <= set(notes)
    assert "\n" not in notes["summary"].strip(), "summary must be one line (it goes to SMS)"
    assert notes["runbook_url"] == f"docs/runbooks/{rule['alert']}.md"
    assert (REPO / notes["runbook_url"]).is_file(), f"missing runbook {notes['runbook_url']}"
    assert notes["dashboard_url"].startswith("/d/trader-logs?")


@pytest.mark.parametrize("rule", list(_rules()))
def test_expression_uses_only_labels_that_exist(rule):
    parts = logql_parts(rule["expr"])  # raises on unbalanced braces, brackets or parentheses
    assert parts["selector"], "no stream selector"
    assert set(parts["selector"]) <= PROMOTED_LABELS, f"stream labels {parts['selector']} not promoted by Alloy"
    assert parts["ranges"], "a log alert needs a range such as [5m]"
    known = PROMOTED_LABELS | set(parts["extracted"])
    assert set(parts["filtered"]) <= known, f"filters on {parts['filtered']}, known: {sorted(known)}"
    assert set(parts["grouping"]) <= known, f"groups by {parts['grouping']}, known: {sorted(known)}"
    assert re.search(r"[<>]=?\s*[0-9]+\s*$", rule["expr"].strip()), "expected a threshold comparison at the end"


@pytest.mark.parametrize("rule", list(_rules()))
def test_templates_only_use_labels_the_aggregation_keeps(rule):
    kept = set(logql_parts(rule["expr"])["grouping"])
    for name, text in rule["annotations"].items():
        used = set(re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", text))
        assert used <= kept, f"{name} uses {sorted(used - kept)}, dropped by `sum by ({', '.join(sorted(kept))})`"


@pytest.mark.parametrize("rule", list(_rules()))
def test_dashboard_link_opens_an_existing_panel_with_existing_variables(rule):
    from urllib.parse import parse_qsl, urlsplit

    url = urlsplit(rule["annotations"]["dashboard_url"])
    uid = url.path.removeprefix("/d/").split("/")[0]
    path = REPO / "grafana" / "dashboards" / f"{uid}.json"
    assert path.is_file(), f"missing {path.relative_to(REPO)} (the Grafana part): dashboard_url points at it"
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] == uid
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    panels = {p["id"] for p in dashboard["panels"]}
    for key, value in parse_qsl(url.query):
        if key == "viewPanel":
            assert int(value) in panels, f"viewPanel={value}: no such panel in {uid}"
        else:
            assert key.startswith("var-") and key[4:] in variables, f"{key}: {uid} has no such variable"


@pytest.mark.parametrize("rule", list(_rules()))
def test_regexes_compile(rule):
    # LogQL regexes are RE2; the ones we write are in the subset Python shares with RE2.
    for pattern in re.findall(r"[|!=]~\s*`([^`]*)`", rule["expr"]):
        re.compile(pattern)
