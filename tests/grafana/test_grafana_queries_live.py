"""Every PromQL query of every dashboard runs against a real Prometheus that scrapes the real
trader on the sim feed with prometheus/rules/*.yml loaded, and the panels that should show data
within a minute of trading do.

One test (about 30 s, most of it waiting for rate windows to fill): it waits until the panels that
must have data have it with every variable at "All" (``.*``), then runs every query, and for each
variable a query uses, picks its listed values one at a time (as a user would in the dropdown):
one of them must show data, or the query filters on a label its series do not carry.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.grafana.grafana_dashboards_support import (
    RULES_DIR, dashboards, fill_variables, panel_ref, referenced_variables, targets,
)

pytestmark = pytest.mark.slow

# The sim feed with a fixed seed: the same market, signals and fills on every run.
TRADER_ARGS = ("--feed", "sim", "--seed", "0")

# Scraped and evaluated every second (production: 5 s) so a minute holds enough samples for the
# 1 m rate windows the panels use in place of $__rate_interval.
PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: trader
    # As prometheus/prometheus.yml: the target carries the trader's name (the dashboards' $trader).
    static_configs: [{{targets: ["{trader}"], labels: {{trader: trader}}}}]
{extra}"""
SELF_SCRAPE = """  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
"""

# Panels (or single queries: uid, panel id, refId) that may stay empty after a minute of the
# sim feed, and why. Every other query of every panel must return data.
MAY_BE_EMPTY = {
    # Services this test does not run: only the trader and Prometheus are scraped here.
    ("trader-system", 10): "Alertmanager's own metrics",
    ("trader-system", 11): "Loki's own metrics",
    ("trader-system", 12): "the SMS relay's own metrics",
    ("trader-system", 16): "Loki's and Alloy's `up` (the Logs pipeline stat)",
    ("trader-logs", 4): "Loki's and Alloy's `up` (the Logs pipeline stat)",
    ("trader-system", 6, "D"): "Alertmanager's config reload flag",
    ("trader-system", 6, "E"): "Alertmanager's notification failures",
    # Figures that need more than a minute of history by design.
    ("trader-strategy", 4): "per-strategy Sharpe is absent until enough daily returns",
    ("trader-strategy", 10): "Sharpe is absent until enough daily returns",
    ("trader-strategy", 11): "Sortino is absent until enough daily returns",
    ("trader-risk", 3, "A"): "VaR is absent until enough daily returns",
    ("trader-risk", 3, "B"): "CVaR is absent until enough daily returns",
    ("trader-risk", 12): "VaR is absent until enough daily returns",
    # Depends on the sim's path: two positions open at once with a return history.
    ("trader-risk", 6, "A"): "correlation needs two open positions",
    # The default strategies hold a position until an exit 0.4-0.6 % away or 45 minutes
    # (trader/config.py): in the first minutes a trade may not have closed at a loss yet.
    ("trader-strategy", 12): "profit factor is absent until a trade has lost",
    # Exchange accounts only (read-only keys): this paper trader watches none. A trader watching a
    # stand-in exchange shows them: tests/exchange_accounts/test_live_liquidation_close.py.
    ("trader-execution", 16): "exchange accounts' rate-limit usage",
    ("trader-execution", 17): "exchange accounts' data age",
    ("trader-execution", 18): "exchange accounts' API errors by reason",
}


def _label_values(prom, definition: str, values: dict[str, str]) -> list[str]:
    """What Grafana's ``label_values(selector, label)`` lists, through a PromQL ``group by``."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", definition)
    assert match, f"unsupported variable query {definition!r}"
    selector, label = fill_variables(match[1], values), match[2]
    return sorted({r["metric"].get(label, "") for r in prom.query(f"group by ({label}) ({selector})")} - {""})


def _variables(dashboard: dict) -> list[str]:
    return [v["name"] for v in dashboard["templating"]["list"]]


def _shows_data_within(prom, exprs: list[str], seconds: float) -> bool:
    """Whether one of ``exprs`` returns data now or within ``seconds`` (a position may be
    between a close and the next open)."""
    deadline = time.monotonic() + seconds
    while True:
        if any(prom.query(expr) for expr in exprs):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1)


def _may_be_empty(uid: str, panel: dict, target: dict) -> bool:
    return (uid, panel["id"]) in MAY_BE_EMPTY or (uid, panel["id"], target["refId"]) in MAY_BE_EMPTY


def _prometheus_queries(all_dashboards: dict) -> list[tuple[dict, dict, dict]]:
    return [(d, panel, target) for d in all_dashboards.values() for panel, target in targets(d, "prometheus")]


def test_every_dashboard_query_runs_and_the_panels_show_data(start_trader, start_prometheus) -> None:
    started = time.monotonic()
    all_dashboards = dashboards()
    queries = _prometheus_queries(all_dashboards)
    assert len(queries) > 80, f"only {len(queries)} PromQL queries found in the dashboards"
    listed = {key[:2] for key in MAY_BE_EMPTY}
    for uid, panel_id in listed:  # the exception list must name real panels
        assert any(d["uid"] == uid and p["id"] == panel_id for d, p, _ in queries), (uid, panel_id)

    trader = start_trader(*TRADER_ARGS)
    rules = {f"rules/{path.name}": path for path in sorted(RULES_DIR.glob("*.yml"))}
    assert rules, "no rule files in prometheus/rules"
    trader_target = trader.metrics_url.split("//", 1)[1].split("/", 1)[0]
    prom = start_prometheus(PROMETHEUS_CONFIG.format(trader=trader_target, extra=""), files=rules)
    # Prometheus picks its port when it starts: add the self-scrape job now, as compose's
    # `prometheus` job does, so its own metrics (rule failures, reloads) can be checked.
    config_path = next(a.split("=", 1)[1] for a in prom.process.argv if a.startswith("--config.file="))
    with open(config_path, "w") as config:
        config.write(PROMETHEUS_CONFIG.format(trader=trader_target, extra=SELF_SCRAPE.format(port=prom.port)))
    prom.reload()
    assert not [g for g in prom.rules() if any(r.get("health") == "err" for r in g["rules"])], prom.rules()

    all_values = {name: ".*" for d in all_dashboards.values() for name in _variables(d)}
    errors = []
    for dashboard, panel, target in queries:  # PromQL errors first: they fail fast, all named
        try:
            prom.query(fill_variables(target["expr"], all_values))
        except AssertionError as error:  # the fixture words Prometheus' error
            errors.append(f"{panel_ref(dashboard, panel, target)}: {error}")
    assert not errors, "\n".join(errors)

    # A query counts once it has shown data: position series come and go as the sim trades.
    not_yet = [(d, p, t) for d, p, t in queries if not _may_be_empty(d["uid"], p, t)]

    def empty_panels() -> list[str]:
        not_yet[:] = [(d, p, t) for d, p, t in not_yet if not prom.query(fill_variables(t["expr"], all_values))]
        return [f"{panel_ref(d, p, t)}: {t['expr']}" for d, p, t in not_yet]

    waiting_since = time.monotonic()
    try:
        prom.wait_until(lambda: not empty_panels(), timeout=90, what="every panel that should have data to have it")
    except AssertionError as error:
        raise AssertionError(f"{error}; still empty:\n" + "\n".join(empty_panels())) from None
    data_after = time.monotonic() - waiting_since

    errors, empty = [], []
    for dashboard in all_dashboards.values():
        # The values each variable lists (as its dropdown would), each narrowed by the ones before.
        options: dict[str, list[str]] = {}
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                options[variable["name"]] = _label_values(prom, variable["definition"], all_values)
                if not options[variable["name"]]:
                    errors.append(f"{dashboard['uid']}: variable {variable['name']} lists no values")
        for panel, target in targets(dashboard, "prometheus"):
            if _may_be_empty(dashboard["uid"], panel, target):
                continue
            try:
                # Pick one value of one variable at a time, the others at All: some value must
                # show data, or the query filters on a label its series do not carry.
                for name in sorted(referenced_variables(target["expr"]) & set(options)):
                    tried = [fill_variables(target["expr"], {**all_values, name: re.escape(value)})
                             for value in options[name]]
                    if tried and not _shows_data_within(prom, tried, seconds=20):
                        empty.append(f"{panel_ref(dashboard, panel, target)} for every value of ${name}: {tried[0]}")
            except AssertionError as error:  # a PromQL error, as the fixture words it
                errors.append(f"{panel_ref(dashboard, panel, target)}: {error}")
    assert not errors, "\n".join(errors)
    assert not empty, "panels without data once a variable is set:\n" + "\n".join(empty)
    print(f"\n{len(queries)} PromQL queries ran; panels had data {data_after:.0f} s after Prometheus "
          f"started; test took {time.monotonic() - started:.0f} s")
