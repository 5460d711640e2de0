"""Reading the generated dashboards, their queries and the Prometheus rules they must agree with.

Shared by test_grafana_dashboards.py (structure) and test_grafana_queries_live.py (PromQL
against a real Prometheus)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Iterator

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAFANA_DIR = REPO_ROOT / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
PROVISIONING_DIR = GRAFANA_DIR / "provisioning"
RULES_DIR = REPO_ROOT / "prometheus" / "rules"

# docs/architecture.md fixes these uids; alerts link to them.
DASHBOARD_UIDS = {
    "trader-overview", "trader-strategy", "trader-risk", "trader-execution",
    "trader-market-data", "trader-system", "trader-logs",
}

# Grafana's own variables, and what stands in for them when a query runs in a test.
BUILTIN_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "__auto": "1m"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)")
LIMIT_SERIES = re.compile(r"trader:\w+_(?:limit|slo):\w+|trader_limit_\w+")
# Series names in a rule expression: recorded (level:metric:operation) or exported metrics.
_SERIES = re.compile(r"(?<![\w:])(?:[a-z_]+:[a-z0-9_]+:[a-z0-9_]+"
                     r"|(?:trader|prometheus|alertmanager)_[a-z0-9_]+|up|ALERTS)(?![\w:])")


def series_in(expr: str) -> set[str]:
    """The series ``expr`` reads (label values in quotes are ignored)."""
    return set(_SERIES.findall(re.sub(r'"[^"]*"', '""', expr)))


def load_generate_module():
    """grafana/generate.py as a module (grafana/ is not a Python package)."""
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict]:
    """uid -> dashboard JSON, from the committed files."""
    loaded = {}
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        loaded[data["uid"]] = data
    return loaded


def panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside a collapsed row


def overlaps(a: dict, b: dict) -> bool:
    """Whether two panels share a cell of the grid."""
    pa, pb = a["gridPos"], b["gridPos"]
    return (pa["x"] < pb["x"] + pb["w"] and pb["x"] < pa["x"] + pa["w"]
            and pa["y"] < pb["y"] + pb["h"] and pb["y"] < pa["y"] + pa["h"])


def datasource_uid(panel: dict, target: dict) -> str | None:
    source = target.get("datasource") or panel.get("datasource")
    return source.get("uid") if isinstance(source, dict) else source


def targets(dashboard: dict, datasource: str) -> Iterator[tuple[dict, dict]]:
    """(panel, target) for every query of ``dashboard`` on the datasource with uid ``datasource``."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if datasource_uid(panel, target) == datasource:
                yield panel, target


def variable_names(dashboard: dict) -> set[str]:
    return {v["name"] for v in dashboard["templating"]["list"]}


def referenced_variables(expr: str) -> set[str]:
    return {a or b for a, b in _VARIABLE.findall(expr)}


def fill_variables(expr: str, values: dict[str, str]) -> str:
    """``expr`` with every ``$name``, ``${name}`` and ``${name:format}`` replaced by ``values``
    (then Grafana's built-ins); an unknown variable raises, naming it."""
    known = {**BUILTIN_VALUES, **values}

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in known:
            raise KeyError(f"query uses ${name}, which is neither a dashboard variable nor a built-in: {expr}")
        return known[name]

    return _VARIABLE.sub(replace, expr)


def panel_ref(dashboard: dict, panel: dict, target: dict | None = None) -> str:
    ref = f"{dashboard['uid']} panel {panel['id']} {panel.get('title')!r}"
    return ref + (f" query {target['refId']}" if target else "")


def alert_rules() -> list[dict]:
    """Every alerting rule of prometheus/rules/*.yml."""
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            rules += [dict(rule, file=path.name) for rule in group.get("rules", []) if "alert" in rule]
    return rules


def recorded_series() -> set[str]:
    names = set()
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names |= {rule["record"] for rule in group.get("rules", []) if "record" in rule}
    return names


def datasources() -> list[dict]:
    found = []
    for path in sorted((PROVISIONING_DIR / "datasources").glob("*.yml")):
        found += yaml.safe_load(path.read_text()).get("datasources", [])
    return found
