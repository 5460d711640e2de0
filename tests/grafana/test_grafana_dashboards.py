"""The generated dashboards are what Grafana can provision, agree with the alert rules, and are
fresh. No Grafana binary exists here, so the JSON is checked structurally; the PromQL itself runs
against a real Prometheus in test_grafana_queries_live.py."""

from __future__ import annotations

import re
from itertools import combinations

import pytest
import yaml

from tests.grafana.grafana_dashboards_support import (
    DASHBOARD_DIR, DASHBOARD_UIDS, LIMIT_SERIES, PROVISIONING_DIR, RULES_DIR, alert_rules,
    dashboards, datasource_uid, datasources, load_generate_module, overlaps, panel_ref, panels,
    recorded_series, referenced_variables, series_in, targets, variable_names,
)

ALLOWED_PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "logs", "alertlist", "text"}
STANDARD_VARIABLES = {"trader", "account", "exchange", "symbol", "strategy"}
DASHBOARD_URL = re.compile(r"^/d/(?P<uid>[\w-]+)\?viewPanel=(?P<panel>\d+)$")

DASHBOARDS = dashboards()


def test_committed_json_is_what_the_sources_generate() -> None:
    generate = load_generate_module()
    stale = generate.stale_files(generate.render_all())
    assert not stale, f"stale dashboard JSON, run `python grafana/generate.py`: {stale}"


def test_stale_json_is_detected(tmp_path, monkeypatch) -> None:
    # The freshness check above must be able to fail: edit a copy and ask again.
    generate = load_generate_module()
    rendered = generate.render_all()
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(generate, "OUTPUT_DIR", tmp_path)
    assert generate.stale_files(rendered) == []
    (tmp_path / "trader-risk.json").write_text(rendered["trader-risk.json"].replace("Drawdown", "Draw"))
    (tmp_path / "old.json").write_text("{}")
    assert generate.stale_files(rendered) == ["old.json", "trader-risk.json"]
    assert generate.main(["--check"]) == 1


def test_every_dashboard_of_the_contract_exists_once() -> None:
    assert set(DASHBOARDS) == DASHBOARD_UIDS
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(titles) == len(set(titles)), titles
    for path in DASHBOARD_DIR.glob("*.json"):
        assert path.stem in DASHBOARD_UIDS, f"{path.name}: file not named after a dashboard uid"


@pytest.mark.parametrize("uid", sorted(DASHBOARD_UIDS))
def test_panels_are_current_types_placed_without_overlap(uid: str) -> None:
    dashboard = DASHBOARDS[uid]
    all_panels = list(panels(dashboard))
    assert all_panels, f"{uid}: no panels"
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids), f"{uid}: panel ids {ids}"
    for panel in all_panels:
        assert panel["type"] in ALLOWED_PANEL_TYPES, f"{panel_ref(dashboard, panel)}: type {panel['type']!r}"
        pos = panel.get("gridPos")
        assert pos and all(isinstance(pos.get(k), int) for k in "hwxy"), f"{panel_ref(dashboard, panel)}: gridPos {pos}"
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["y"] >= 0 and pos["x"] + pos["w"] <= 24, \
            f"{panel_ref(dashboard, panel)}: gridPos {pos} outside the 24-column grid"
        ref_ids = [t.get("refId") for t in panel.get("targets", [])]
        assert all(ref_ids) and len(ref_ids) == len(set(ref_ids)), f"{panel_ref(dashboard, panel)}: refIds {ref_ids}"
        if panel["type"] not in {"alertlist", "text"}:
            assert ref_ids, f"{panel_ref(dashboard, panel)}: no query"
    for a, b in combinations(all_panels, 2):
        assert not overlaps(a, b), f"{panel_ref(dashboard, a)} overlaps {panel_ref(dashboard, b)}"


def test_the_overlap_check_sees_an_overlap() -> None:
    # Guard for the check above: sharing one grid cell is an overlap, touching edges is not.
    a = {"gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}
    assert overlaps(a, {"gridPos": {"x": 11, "y": 7, "w": 4, "h": 4}})
    assert not overlaps(a, {"gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}})
    assert not overlaps(a, {"gridPos": {"x": 0, "y": 8, "w": 24, "h": 8}})


def test_provisioned_datasources_have_the_fixed_uids() -> None:
    by_uid = {d["uid"]: d for d in datasources()}
    assert set(by_uid) == {"prometheus", "loki", "alertmanager"}
    assert by_uid["prometheus"]["type"] == "prometheus" and by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["loki"]["type"] == "loki" and by_uid["loki"]["url"] == "http://loki:3100"
    assert by_uid["alertmanager"]["type"] == "alertmanager"
    assert by_uid["alertmanager"]["url"] == "http://alertmanager:9093"
    assert by_uid["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert [d["uid"] for d in datasources() if d.get("isDefault")] == ["prometheus"]


@pytest.mark.parametrize("uid", sorted(DASHBOARD_UIDS))
def test_every_query_uses_a_provisioned_datasource(uid: str) -> None:
    dashboard = DASHBOARDS[uid]
    provisioned = {d["uid"] for d in datasources()}
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            assert datasource_uid(panel, target) in provisioned, panel_ref(dashboard, panel, target)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] in provisioned, f"{uid}: variable {variable['name']}"


def test_dashboards_provider_reads_the_mounted_folder_into_a_folder() -> None:
    [provider] = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "dashboards.yml").read_text())["providers"]
    assert provider["type"] == "file" and provider["folder"]
    # compose mounts ./grafana/dashboards here; GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH points
    # at trader-overview.json in it.
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert (DASHBOARD_DIR / "trader-overview.json").is_file()


@pytest.mark.parametrize("uid", sorted(DASHBOARD_UIDS))
def test_variables_and_links(uid: str) -> None:
    dashboard = DASHBOARDS[uid]
    names = variable_names(dashboard)
    for panel, target in list(targets(dashboard, "prometheus")) + list(targets(dashboard, "loki")):
        unknown = referenced_variables(target["expr"]) - names - {"__rate_interval", "__interval", "__range"}
        assert not unknown, f"{panel_ref(dashboard, panel, target)} uses undefined variables {unknown}"
    if uid not in {"trader-system", "trader-logs"}:
        assert STANDARD_VARIABLES <= names, f"{uid}: variables {names}"
    for variable in dashboard["templating"]["list"]:
        if variable["type"] in {"query", "custom"}:
            assert variable["multi"] and variable["includeAll"] and variable["allValue"] == ".*", variable["name"]
        if variable["type"] == "query":
            assert variable["definition"].startswith("label_values("), variable
    [link] = dashboard["links"]
    assert link["type"] == "dashboards" and link["tags"] == ["trader"] and "trader" in dashboard["tags"]
    assert link["includeVars"] and link["keepTime"]


@pytest.mark.parametrize("uid", sorted(DASHBOARD_UIDS - {"trader-logs"}))
def test_prometheus_panels_link_to_the_matching_logs(uid: str) -> None:
    dashboard = DASHBOARDS[uid]
    logs_variables = variable_names(DASHBOARDS["trader-logs"])
    for panel in panels(dashboard):
        if panel["type"] in {"alertlist", "text", "heatmap"}:
            continue
        links = panel["fieldConfig"]["defaults"].get("links", [])
        urls = [link["url"] for link in links if link["url"].startswith("/d/trader-logs/")]
        assert urls, f"{panel_ref(dashboard, panel)}: no data link to the logs"
        for url in urls:
            assert "${__url_time_range}" in url, url
            carried = set(re.findall(r"var-(\w+)=", url)) | set(re.findall(r"\$\{(\w+):queryparam\}", url))
            assert {"exchange", "symbol"} <= carried <= logs_variables, url


def test_logql_queries_select_loki_labels_then_json_fields() -> None:
    dashboard = DASHBOARDS["trader-logs"]
    queries = [t["expr"] for _, t in targets(dashboard, "loki")]
    assert len(queries) >= 2
    for expr in queries:
        selector = re.search(r"\{([^{}]*)\}", expr).group(1)
        labels = re.findall(r'(\w+)\s*(?:=~|!~|!=|=)\s*"', selector)
        # Alloy promotes only these to Loki labels; anything else in a selector matches nothing.
        assert set(labels) <= {"service", "level", "exchange"}, expr
        assert 'service="trader"' in selector, expr  # one matcher that cannot match empty
        after_json = expr.split("| json", 1)
        assert len(after_json) == 2, f"no `| json` stage: {expr}"
        assert 'symbol=~"$symbol"' in after_json[1] and "order_id=~" in after_json[1], expr
        assert expr.count("(") == expr.count(")") and expr.count('"') % 2 == 0, expr
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["order_id"]["type"] == "textbox"
    assert variables["level"]["type"] == "custom"
    assert [p["type"] for p in panels(dashboard)].count("logs") >= 1


def test_every_alert_links_to_a_panel_that_names_it_and_plots_its_series_and_threshold() -> None:
    rules = alert_rules()
    assert rules, "no alerting rules in prometheus/rules/*.yml"
    problems = []
    for rule in rules:
        url = rule.get("annotations", {}).get("dashboard_url", "")
        match = DASHBOARD_URL.match(url)
        if not match:
            problems.append(f"{rule['alert']} ({rule['file']}): dashboard_url {url!r} is not /d/<uid>?viewPanel=<id>")
            continue
        dashboard = DASHBOARDS.get(match["uid"])
        by_id = {p["id"]: p for p in panels(dashboard)} if dashboard else {}
        panel = by_id.get(int(match["panel"]))
        if panel is None:
            problems.append(f"{rule['alert']}: {url} names no panel of the dashboards")
            continue
        if rule["alert"] not in (panel.get("description") or ""):
            problems.append(f"{rule['alert']}: {url} is {panel['title']!r}, whose description does not name it")
        plotted = set().union(*(series_in(t["expr"]) for t in panel.get("targets", [])))
        for series in sorted(series_in(rule["expr"]) - plotted):
            kind = "threshold" if LIMIT_SERIES.fullmatch(series) else "series"
            problems.append(f"{rule['alert']}: panel {url} does not plot its {kind} {series}")
    assert not problems, "\n".join(problems)


def test_every_threshold_series_is_drawn_somewhere() -> None:
    thresholds = {name for name in recorded_series() if LIMIT_SERIES.fullmatch(name)}
    assert thresholds, "no threshold recording rules found"
    plotted = " ".join(t["expr"] for d in DASHBOARDS.values() for _, t in targets(d, "prometheus"))
    missing = sorted(name for name in thresholds if name not in plotted)
    assert not missing, f"threshold series no panel draws: {missing}"


def test_every_recorded_series_is_on_a_dashboard() -> None:
    # A recording rule exists because someone needs the figure; if no panel shows it, either the
    # dashboards miss a figure or the rule is dead.
    shown = set().union(*(series_in(t["expr"]) for d in DASHBOARDS.values() for _, t in targets(d, "prometheus")))
    missing = sorted(recorded_series() - shown)
    assert not missing, f"recorded series of prometheus/rules no dashboard queries: {missing}"


def test_recorded_series_are_queried_instead_of_their_expressions() -> None:
    # Where a recording rule exists, a panel reads it; the test spots a copy of a rule's PromQL.
    rule_exprs = {}
    for path in RULES_DIR.glob("*.yml"):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule and "(" in rule["expr"]:
                    rule_exprs[rule["record"]] = re.sub(r"\s+", "", rule["expr"])
    for dashboard in DASHBOARDS.values():
        for panel, target in targets(dashboard, "prometheus"):
            flat = re.sub(r"\s+", "", re.sub(r"\{[^{}]*\}", "", target["expr"]))
            for record, expr in rule_exprs.items():
                assert re.sub(r"\{[^{}]*\}", "", expr) not in flat, \
                    f"{panel_ref(dashboard, panel, target)} repeats the expression of {record}; query {record}"
