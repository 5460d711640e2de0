"""The trader's ``--openmetrics-out`` flags refuse what cannot run on simulated time: one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.tuning.tuning_support import REPO_ROOT


@pytest.mark.parametrize("args, expected", [
    (["--openmetrics-out", "x.om"], "--openmetrics-out with --feed live: expected --replay FILE or --feed sim"),
    (["--feed", "sim", "--openmetrics-out", "x.om"], "expected --run-for DURATION"),
    (["--feed", "sim", "--run-for", "1m"], "--run-for = 60s: expected --openmetrics-out with it"),
    (["--feed", "sim", "--openmetrics-out", "x.om", "--run-for", "soon"], "--run-for = 'soon': expected a duration"),
    (["--feed", "sim", "--openmetrics-out", "x.om", "--run-for", "1m", "--sample-interval", "0s"],
     "--sample-interval = '0s': expected a duration > 0"),
])
def test_bad_simulated_time_flags(tmp_path, args, expected):
    done = subprocess.run([sys.executable, "-m", "trader", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
    assert not (tmp_path / "x.om").exists()


def test_a_drill_on_simulated_time_lasts_run_for_and_takes_seconds(tmp_path):
    out = tmp_path / "drill.om"
    done = subprocess.run([sys.executable, "-m", "trader", "--feed", "sim", "--drill", "feed-outage", "--drill-delay",
                           "20", "--run-for", "5m", "--openmetrics-out", str(out), "--log-level", "WARNING"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    stamps = sorted({float(line.rsplit(" ", 1)[1]) for line in lines if not line.startswith("#")})
    assert len(stamps) == 60 and stamps[-1] - stamps[0] == 295  # every 5 s of the 5 simulated minutes
    # the outage (20 s in, 3 minutes) shows as trader_feed_up 0 on the simulated clock
    up = [(float(line.rsplit(" ", 1)[1]), line.split()[1]) for line in lines if line.startswith("trader_feed_up{")]
    down = [t for t, v in up if v == "0"]
    assert down and 170 <= down[-1] - down[0] <= 185 and down[0] - stamps[0] >= 15
