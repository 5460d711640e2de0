"""``--apply`` writes one number and nothing else, runs promtool, reloads; any failure leaves the file.

Each test works on a copy of a rule file and its promtool tests (``rules/`` and ``tests/`` side by
side, as in prometheus/), so the repository's files are never touched.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import requests

from tests.support.prometheus import PrometheusServer
from tests.tuning.tuning_support import REPO_ROOT, run_tuning

DEMO_RULES = """\
# Demo family: one threshold, one alert.
groups:
  - name: demo-thresholds
    rules:
      # The level above which the demo pages.
      - record: demo:level_limit:ratio
        expr: vector(0.10)   # keep this comment
  - name: demo-alerts
    rules:
      - alert: DemoLevelHigh
        expr: demo_level_ratio > on () group_left () demo:level_limit:ratio
        for: 1m
        labels:
          severity: warning
          category: system
        annotations:
          summary: "level {{ $value }}"
"""

DEMO_TEST = """\
rule_files:
  - ../rules/demo.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: demo_level_ratio{instance="a"}
        values: 0.3x5
      - series: demo_level_ratio{instance="b"}
        values: 0.01x5
    alert_rule_test:
      - eval_time: 3m
        alertname: DemoLevelHigh
        exp_alerts:
          - exp_labels: {instance: a, severity: warning, category: system}
            exp_annotations: {summary: "level 0.3"}
"""


@pytest.fixture
def demo(tmp_path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules" / "demo.yml").write_text(DEMO_RULES)
    (tmp_path / "tests" / "demo_test.yml").write_text(DEMO_TEST)
    return tmp_path


def _apply(rules_dir: Path, alert: str, value: str, *extra: str):
    return run_tuning(alert, "--apply", value, "--rules", str(rules_dir / "*.yml"), *extra)


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_apply_changes_only_the_number_and_back_gives_the_same_bytes(demo):
    path = demo / "rules" / "demo.yml"
    original = path.read_bytes()
    result = _apply(demo / "rules", "DemoLevelHigh", "0.25")
    assert result.returncode == 0, result.stderr
    assert "applied demo:level_limit:ratio = 0.25" in result.stdout and "(was 0.10)" in result.stdout
    assert "promtool check rules: ok" in result.stdout and "demo_test.yml: ok" in result.stdout
    assert _changed_lines(original.decode(), path.read_text()) == [
        "-        expr: vector(0.10)   # keep this comment",
        "+        expr: vector(0.25)   # keep this comment",
    ]
    back = _apply(demo / "rules", "DemoLevelHigh", "0.10")
    assert back.returncode == 0, back.stderr
    assert path.read_bytes() == original


def test_a_failing_promtool_test_leaves_the_file_untouched(demo):
    path = demo / "rules" / "demo.yml"
    original = path.read_bytes()
    result = _apply(demo / "rules", "DemoLevelHigh", "0.5")  # the test's 0.3 no longer fires
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not applied: promtool test rules" in result.stderr and "left as it was" in result.stderr
    assert path.read_bytes() == original


def test_the_projects_own_tests_refuse_a_new_drawdown_limit(tmp_path):
    # risk_test.yml asserts the 10 % in the threshold's value and in the summaries: a new value
    # must come with updated tests, so --apply refuses and risk.yml stays as it is.
    shutil.copytree(REPO_ROOT / "prometheus" / "rules", tmp_path / "rules")
    shutil.copytree(REPO_ROOT / "prometheus" / "tests", tmp_path / "tests")
    original = (tmp_path / "rules" / "risk.yml").read_bytes()
    result = _apply(tmp_path / "rules", "TraderDrawdownHigh", "0.12")
    assert result.returncode == 1
    assert "risk_test.yml failed" in result.stderr and result.stderr.count("\n") == 1
    assert (tmp_path / "rules" / "risk.yml").read_bytes() == original


def test_apply_with_reload_reaches_the_running_prometheus(demo):
    server = PrometheusServer(demo / "prom", "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules/*.yml\n",
                              files={"rules/demo.yml": demo / "rules" / "demo.yml"})
    try:
        rules_dir = demo / "prom" / "rules"
        result = _apply(rules_dir, "DemoLevelHigh", "0.2", "--reload", "--prometheus", server.url)
        assert result.returncode == 0, result.stderr
        assert f"Prometheus at {server.url} reloaded" in result.stdout

        def limit() -> float | None:
            body = requests.get(f"{server.url}/api/v1/query", params={"query": "demo:level_limit:ratio"}, timeout=5).json()
            values = body["data"]["result"]
            return float(values[0]["value"][1]) if values else None

        server.wait_until(lambda: limit() == 0.2, 30, "the reloaded threshold 0.2")
    finally:
        server.stop()


def test_a_failed_reload_puts_the_file_back(demo):
    path = demo / "rules" / "demo.yml"
    original = path.read_bytes()
    result = _apply(demo / "rules", "DemoLevelHigh", "0.2", "--reload", "--prometheus", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "unreachable" in result.stderr and "left as it was" in result.stderr
    assert path.read_bytes() == original
