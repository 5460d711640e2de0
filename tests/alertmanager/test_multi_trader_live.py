"""Two traders, one Prometheus, one Alertmanager, with the real binaries (issue 13).

Prometheus runs ``deploy/prometheus/multi-trader.yml`` (the file_sd trader job and its
relabelling, the committed rules) on a targets file shaped like
``deploy/prometheus/targets/traders.yml``: two sim traders, ``alpha`` and ``beta``, both with the
default account ``main``. Alertmanager runs the config ``python -m alertmanager.render`` writes,
with local stand-ins for Discord, Telegram and the mail server (tests/alertmanager/am_fakes.py).

Asserted, in the order a user would meet it:
- while both run, a ``by (account)`` recorded series is two series, one per trader: their two
  ``main`` accounts never merge;
- beta is killed: TraderTargetDown fires for beta, naming it;
- alpha then runs the crash drill: its critical alerts reach Discord, Telegram and e-mail, named
  alpha, and Alertmanager does not inhibit them (beta's TraderTargetDown silences beta only);
- the control: a critical risk alert of beta is inhibited by beta's TraderTargetDown, so the
  inhibition still works, per trader.
"""

from __future__ import annotations

import time

import pytest
import yaml

from tests.alertmanager.am_fakes import discord_embed, start_receivers
from tests.alertmanager.am_stack import FAST_TIMING, alert, render_config
from tests.support.ports import free_port
from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT

pytestmark = pytest.mark.slow

CRASH_ALERT = "TraderDrawdownHigh"  # critical, the crash drill's first page
TARGET_DOWN_TIMEOUT = 150  # kill + `for: 1m` + scrape and evaluation intervals, on a busy machine
DELIVERY_TIMEOUT = 150


def _multi_trader_config(targets_file: str, alertmanager: str) -> tuple[str, dict]:
    """deploy/prometheus/multi-trader.yml with only its trader job, reading ``targets_file``, the
    committed rules, and alerts to ``alertmanager``. The other jobs name compose services."""
    config = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "multi-trader.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "trader")
    assert job["file_sd_configs"][0]["files"] == ["/etc/prometheus/targets/traders*.yml"]
    job["file_sd_configs"][0]["files"] = [targets_file]
    config["scrape_configs"] = [job]
    config["rule_files"] = ["rules/*.yml"]
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    rules = {f"rules/{p.name}": p for p in sorted((REPO_ROOT / "prometheus" / "rules").glob("*.yml"))}
    return yaml.safe_dump(config, sort_keys=False), rules


def _am_alert(alertmanager, name: str, trader: str) -> dict | None:
    for entry in alertmanager.alerts():
        labels = entry["labels"]
        if labels.get("alertname") == name and labels.get("trader") == trader:
            return entry
    return None


def test_two_traders_keep_their_figures_and_pages_apart(start_trader, start_prometheus, start_alertmanager,
                                                        tmp_path) -> None:
    ports = {"alpha": free_port(), "beta": free_port()}
    targets = tmp_path / "traders.yml"
    # As deploy/prometheus/targets/traders.yml: one entry per trader, its name as the trader label.
    targets.write_text(yaml.safe_dump([{"targets": [f"127.0.0.1:{port}"], "labels": {"trader": name}}
                                       for name, port in ports.items()]))
    with start_receivers() as fakes:
        rendered = render_config(tmp_path / "am-config", fakes.render_env(), *FAST_TIMING)
        alertmanager = start_alertmanager(rendered.config_text, files=rendered.files)
        traders = {name: start_trader("--name", name, "--feed", "sim", "--seed", str(i), port=port)
                   for i, (name, port) in enumerate(ports.items())}
        prometheus = start_prometheus(*_multi_trader_config(str(targets), alertmanager.url.removeprefix("http://")))

        # Both accounts are called main: the recorded per-account PnL must stay two series.
        def per_trader_pnl():
            result = prometheus.query('account:trader_pnl:ratio{account="main"}')
            return result if {r["metric"].get("trader") for r in result} == set(ports) else None

        pnl = wait_until(per_trader_pnl, 60, "account:trader_pnl:ratio of both traders")
        assert len(pnl) == 2, pnl
        merged = prometheus.query('count by (account) (account:trader_pnl:ratio{account="main"})')
        assert merged[0]["value"][1] == "2"

        # beta dies: its TraderTargetDown fires, naming it.
        traders["beta"].stop()
        down = wait_until(lambda: _am_alert(alertmanager, "TraderTargetDown", "beta"), TARGET_DOWN_TIMEOUT,
                          "TraderTargetDown of beta in Alertmanager")
        assert "beta" in down["annotations"]["summary"]
        assert _am_alert(alertmanager, "TraderTargetDown", "alpha") is None

        # alpha, restarted on its target with the crash drill, pages while beta is down.
        traders["alpha"].stop()
        drill_config = tmp_path / "drill.yml"
        drill_config.write_text(yaml.safe_dump({"drill": {"crash_over_seconds": 10}}))
        start_trader("--name", "alpha", "--feed", "sim", "--seed", "7", "--config", str(drill_config),
                     "--drill", "crash", "--drill-delay", "10", port=ports["alpha"])
        paged_after = time.time()

        def alpha_page(request) -> bool:
            body = request.body.decode(errors="replace")
            return CRASH_ALERT in body and "alpha" in body and request.at > paged_after

        discord = fakes.discord.wait_for(alpha_page, timeout=DELIVERY_TIMEOUT)[0]
        fakes.telegram.wait_for(alpha_page, timeout=60)
        mail = fakes.smtp.wait_for(lambda m: CRASH_ALERT in m["Subject"] and "alpha" in m["Subject"], timeout=60)[0]
        assert "· alpha · main" in discord_embed(discord)["title"]
        assert mail["Subject"].startswith("[FIRING:")
        crash = _am_alert(alertmanager, CRASH_ALERT, "alpha")
        assert crash is not None and crash["status"]["state"] == "active" and not crash["status"]["inhibitedBy"], crash
        assert _am_alert(alertmanager, "TraderTargetDown", "beta")["status"]["state"] == "active"

        # Control: the same alert for beta is a consequence of beta being down, and inhibited.
        alertmanager.post_alerts([alert(CRASH_ALERT, "critical", "risk", trader="beta")])
        inhibited = wait_until(
            lambda: (a := _am_alert(alertmanager, CRASH_ALERT, "beta")) and a["status"]["inhibitedBy"] and a,
            30, "beta's critical alert inhibited by beta's TraderTargetDown")
        assert inhibited["status"]["state"] == "suppressed"
