"""The real promtool: unit tests of every rule file, `check rules`, and `check config` of
prometheus.yml (with its container rule path rewritten to a temporary copy of the rules)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.prometheus.prom_rule_files import PROM_DIR, RULES_DIR, TESTS_DIR, rewrite_config_for
from tests.support.processes import require_binary

TEST_FILES = sorted(p.name for p in TESTS_DIR.glob("*_test.yml"))


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_promtool_unit_tests_pass(test_file: str) -> None:
    result = _promtool("test", "rules", test_file, cwd=TESTS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules_passes() -> None:
    result = _promtool("check", "rules", *sorted(str(p) for p in RULES_DIR.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    """The tests pin the numbers: a drawdown limit moved from 10 % to 20 % must fail them."""
    shutil.copytree(PROM_DIR / "rules", tmp_path / "rules")
    shutil.copytree(TESTS_DIR, tmp_path / "tests")
    risk = tmp_path / "rules" / "risk.yml"
    text = risk.read_text()
    assert "expr: vector(0.10)" in text
    risk.write_text(text.replace("expr: vector(0.10)", "expr: vector(0.20)", 1))
    result = _promtool("test", "rules", "risk_test.yml", cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "TraderDrawdownHigh" in result.stdout + result.stderr


def test_promtool_check_config_passes_with_rules_in_a_temp_dir(tmp_path: Path) -> None:
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    config = tmp_path / "prometheus.yml"
    config.write_text(rewrite_config_for((PROM_DIR / "prometheus.yml").read_text(), tmp_path / "rules"))
    result = _promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    # promtool reports each rule file it loaded: the glob matched all seven.
    assert result.stdout.count("SUCCESS") >= 1 + len(list(RULES_DIR.glob("*.yml"))), result.stdout


def test_config_scrapes_the_compose_services_with_the_documented_intervals() -> None:
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {name: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
               + [f"{n}:{sd['port']}" for sd in job.get("dns_sd_configs", []) for n in sd["names"]]
               for name, job in jobs.items()}
    assert targets == {
        "trader": ["trader:8000"], "sms-relay": ["sms-relay:9099"], "alertmanager": ["alertmanager:9093"],
        "prometheus": ["localhost:9090"], "loki": ["loki:3100"], "alloy": ["alloy:12345"],
        "grafana": ["grafana:3000"],
    }
    assert jobs["trader"]["scrape_interval"] == "5s"
    assert config["global"]["evaluation_interval"] == "5s"
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
