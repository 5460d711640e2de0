"""One runbook per alert (Prometheus and Loki rules), and no runbook without an alert; each says,
in words a person wrote, what the alert means, what to check first and what to do, below the
facts generated from its rule (tests/docs/test_generated_files.py keeps those fresh)."""

from __future__ import annotations

import pytest
import yaml

from tests.prometheus.prom_rule_files import RUNBOOKS_DIR, load_rules
from tests.support.trader import REPO_ROOT
from tools.runbooks import PROSE_SECTIONS, TODO, prose_of

PROMETHEUS_ALERTS = {rule.name: rule for rule in load_rules() if rule.is_alert}


def _loki_alerts() -> set[str]:
    names = set()
    for path in (REPO_ROOT / "loki" / "rules").rglob("*.yml"):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    return names


ALL_ALERTS = sorted(set(PROMETHEUS_ALERTS) | _loki_alerts())


def test_every_alert_has_a_runbook_and_every_runbook_an_alert() -> None:
    runbooks = {path.stem for path in RUNBOOKS_DIR.glob("*.md")}
    assert sorted(set(ALL_ALERTS) - runbooks) == [], "alerts without docs/runbooks/<AlertName>.md"
    assert sorted(runbooks - set(ALL_ALERTS)) == [], "runbooks for alerts no rule defines"


@pytest.mark.parametrize("name", ALL_ALERTS)
def test_runbook_prose_says_what_it_means_what_to_check_and_what_to_do(name: str) -> None:
    text = (RUNBOOKS_DIR / f"{name}.md").read_text()
    assert text.startswith(f"# {name}\n"), name
    prose = prose_of(text)
    headings = [line for line in prose.splitlines() if line.startswith("## ")]
    assert headings == list(PROSE_SECTIONS), f"{name}.md: prose sections {headings}"
    assert TODO not in prose, f"{name}.md: the prose is still the generated TODO"
    for section in prose.split("## ")[1:]:
        assert len(section.split("\n", 1)[1].split()) >= 5, f"{name}.md: section {section.splitlines()[0]!r} is empty"


def test_prometheus_runbooks_name_their_rule_panel_and_how_to_silence() -> None:
    for name, rule in PROMETHEUS_ALERTS.items():
        text = (RUNBOOKS_DIR / f"{name}.md").read_text()
        for heading in ("## Dashboard", "## Silence it", "## Tune it"):
            assert heading in text, f"{name}.md: no {heading!r}"
        assert rule.body["annotations"]["dashboard_url"] in text, f"{name}.md: not the alert's panel"
        assert f"amtool --alertmanager.url=http://localhost:9093 silence add alertname={name}" in text, name
        assert f"prometheus/rules/{rule.file}" in text, f"{name}.md: does not name its rule file {rule.file}"
