"""benchmarks/alert_latency.py prints the floor the running configuration implies: it must read
the intervals from the configs it runs (no figure is timed here)."""

import importlib.util
import sys

import yaml

from tests.alertmanager.am_fakes import start_receivers
from tests.alertmanager.am_stack import render_config
from tests.support.trader import REPO_ROOT

_spec = importlib.util.spec_from_file_location("alert_latency", REPO_ROOT / "benchmarks" / "alert_latency.py")
alert_latency = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("alert_latency", alert_latency)  # its dataclasses look their module up
_spec.loader.exec_module(alert_latency)


def _floors(mode, tmp_path):
    with start_receivers() as fakes:
        rendered = render_config(tmp_path, fakes.render_env("http://127.0.0.1:9/alert", "token"), *mode.group_wait)
    _, _, config = alert_latency.prometheus_config(mode, "127.0.0.1:8000", "127.0.0.1:9093")
    return alert_latency.configured_floor(config, yaml.safe_load(rendered.config_text))


def test_production_floor_is_the_committed_scrape_evaluation_for_and_group_wait(tmp_path):
    floors = _floors(alert_latency.PRODUCTION, tmp_path)
    # prometheus.yml: trader scraped every 5 s, rules every 5 s; risk.yml: for 30 s / 0 s;
    # alertmanager/routing.py: critical group_wait 10 s.
    assert floors["TraderDrawdownHigh"] == {"scrape": 5, "evaluation": 5, "for": 30, "group_wait": 10}
    assert floors["TraderTradingHalted"] == {"scrape": 5, "evaluation": 5, "for": 0, "group_wait": 10}


def test_compressed_floor_keeps_the_rules_for_and_shortens_the_rest(tmp_path):
    floors = _floors(alert_latency.COMPRESSED, tmp_path)
    assert floors["TraderDrawdownHigh"] == {"scrape": 1, "evaluation": 1, "for": 30, "group_wait": 1}
    assert floors["TraderLiquidationClose"]["for"] == 0


def test_a_duration_prometheus_cannot_read_is_named():
    assert alert_latency.seconds("1m30s") == 90
    try:
        alert_latency.seconds("30 s")
    except SystemExit as error:
        assert str(error) == "alert_latency: cannot read the duration '30 s'"
    else:
        raise AssertionError("a malformed duration was accepted")
