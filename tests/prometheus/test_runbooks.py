"""One runbook per alert (Prometheus and Loki rules), and no runbook without an alert."""

from __future__ import annotations

import yaml

from tests.prometheus.prom_rule_files import RUNBOOKS_DIR, load_rules
from tests.support.trader import REPO_ROOT

PROMETHEUS_ALERTS = {rule.name: rule for rule in load_rules() if rule.is_alert}


def _loki_alerts() -> set[str]:
    names = set()
    for path in (REPO_ROOT / "loki" / "rules").rglob("*.yml"):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    return names


def test_every_alert_has_a_runbook_and_every_runbook_an_alert() -> None:
    runbooks = {path.stem for path in RUNBOOKS_DIR.glob("*.md")}
    alerts = set(PROMETHEUS_ALERTS) | _loki_alerts()
    assert sorted(alerts - runbooks) == [], "alerts without docs/runbooks/<AlertName>.md"
    assert sorted(runbooks - alerts) == [], "runbooks for alerts no rule defines"


def test_prometheus_runbooks_say_what_to_check_where_to_look_and_how_to_silence() -> None:
    for name, rule in PROMETHEUS_ALERTS.items():
        text = (RUNBOOKS_DIR / f"{name}.md").read_text()
        assert text.startswith(f"# {name}\n"), name
        for heading in ("## What it means", "## What to check first", "## Dashboard", "## Silence it"):
            assert heading in text, f"{name}.md: no {heading!r}"
        assert rule.body["annotations"]["dashboard_url"] in text, f"{name}.md: not the alert's panel"
        assert f"amtool --alertmanager.url=http://localhost:9093 silence add alertname={name}" in text, name
        assert rule.file in text, f"{name}.md: does not name its rule file {rule.file}"
