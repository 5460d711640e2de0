"""Bad input gets one clear line on stderr and exit code 2, and nothing is changed."""

from __future__ import annotations

import pytest

from tests.support.ports import free_port
from tests.support.prometheus import PrometheusServer
from tests.tuning.tuning_support import REPO_ROOT, run_tuning


@pytest.fixture(scope="module")
def empty_prometheus(tmp_path_factory):
    server = PrometheusServer(tmp_path_factory.mktemp("empty-prom"), "global:\n  evaluation_interval: 5s\n")
    yield server
    server.stop()


def _fails(args: list[str], *expected: str) -> None:
    before = {p: p.read_bytes() for p in (REPO_ROOT / "prometheus" / "rules").glob("*.yml")}
    result = run_tuning(*args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    for text in expected:
        assert text in result.stderr, result.stderr
    assert result.stdout == ""
    assert {p: p.read_bytes() for p in before} == before


def test_unknown_alert():
    _fails(["TraderDrawdownHihg", "--threshold", "0.1"], "unknown alert 'TraderDrawdownHihg'", "TraderDrawdownHigh")


def test_alert_without_a_threshold_rule():
    _fails(["TraderFeedDown"], "alert 'TraderFeedDown' reads no threshold rule", "trader_feed_up == 0")


def test_alert_reading_several_thresholds_needs_series():
    _fails(["TraderHostCpuHigh", "--threshold", "0.8"], "reads 2 thresholds: choose one with --series",
           'trader:host_cpu_limit:ratio{severity="critical"}')


def test_unreachable_prometheus():
    port = free_port()
    _fails(["TraderDrawdownHigh", "--prometheus", f"http://127.0.0.1:{port}"],
           f"Prometheus at http://127.0.0.1:{port} is unreachable")


def test_range_with_no_data(empty_prometheus):
    _fails(["TraderDrawdownHigh", "--prometheus", empty_prometheus.url, "--since", "1h"],
           "no data for trader_drawdown_ratio")


@pytest.mark.parametrize("args, expected", [
    (["--sweep", "0.1:0.05:0.01"], "--sweep = '0.1:0.05:0.01': expected FROM <= TO and a STEP > 0"),
    (["--sweep", "0.1:0.2"], "--sweep = '0.1:0.2': expected FROM:TO:STEP"),
    (["--sweep", "a:b:c"], "--sweep = 'a': expected a number"),
    (["--sweep", "0:1000:0.001"], "expected at most 200"),
    (["--threshold", "0.1", "NaN"], "--threshold = 'NaN': expected a number"),
    (["--for", "5x"], "--for = '5x': expected a duration"),
    (["--since", "seven days"], "--since = 'seven days': expected a duration"),
    (["--from", "yesterday"], "--from = 'yesterday': expected RFC 3339"),
    (["--from", "2024-08-09T00:00:00Z", "--to", "2024-08-08T00:00:00Z"], "expected --from before --to"),
    (["--apply", "ten"], "--apply = 'ten': expected a number"),
    (["--replay", "/nonexistent/recording.jsonl.gz"], "--replay = '/nonexistent/recording.jsonl.gz': no such file"),
    (["--replay", "drill:meteor"], "unknown drill 'meteor'"),
    (["--alertmanager-config", "/nonexistent/alertmanager.yml"], "no such file"),
    (["--rules", "/nonexistent/*.yml"], "--rules = '/nonexistent/*.yml': no rule file found"),
    (["--reload"], "--reload: expected --apply V with it"),
])
def test_malformed_flags(args, expected):
    _fails(["TraderDrawdownHigh", *args, "--prometheus", f"http://127.0.0.1:{free_port()}"], expected)


def test_a_flag_argparse_refuses():
    _fails(["TraderDrawdownHigh", "--threshold", "0.1", "--sweep", "0:1:0.5"], "not allowed with argument")
