"""Every generated file (dashboards JSON, the alerts' links, the metric catalogue, the tables of
docs/architecture.md and prometheus/README.md, the runbooks' headers and footers) is what
``python -m tools.generate`` makes from its source, and the generator notices what is stale,
what is missing and what cannot be generated."""

from __future__ import annotations

import pytest

from tools import generate
from tools.rulebook import RUNBOOKS, PanelLink, load_rulebook, sync_links
from tools.runbooks import TODO, prose_of, render

FILES = generate.generated_files()


def test_every_generated_file_is_fresh() -> None:
    stale = [str(p.relative_to(generate.REPO_ROOT)) for p in generate.stale(FILES)]
    assert not stale, f"stale generated files, run `python -m tools.generate`: {stale}"


def test_a_stale_or_missing_file_is_detected(monkeypatch, capsys) -> None:
    # The freshness check above must be able to fail: a hand edit, then a file that is not there.
    runbook = RUNBOOKS / "TraderDrawdownHigh.md"
    edited = dict(FILES)
    edited[runbook] = FILES[runbook].replace("| critical |", "| warning |")
    missing = RUNBOOKS / "NoSuchAlertYet.md"
    edited[missing] = "# NoSuchAlertYet\n"
    assert generate.stale(edited) == [runbook, missing]
    monkeypatch.setattr(generate, "generated_files", lambda: edited)
    assert generate.main(["--check"]) == 1
    assert "docs/runbooks/TraderDrawdownHigh.md" in capsys.readouterr().err


def test_an_alert_takes_its_links_from_its_name_and_the_panel_that_declares_it() -> None:
    rules = """groups:
  - name: demo-alerts
    rules:
      - alert: DemoHigh
        expr: trader_drawdown_ratio > on () group_left () trader:drawdown_limit:ratio
        annotations:
          summary: demo
          dashboard_url: /d/trader-risk?viewPanel=99

      - alert: DemoLow
        expr: vector(1)
        annotations:
          summary: demo
"""
    panels = {"DemoHigh": PanelLink("trader-risk", 1, "Risk", "Drawdown"),
              "DemoLow": PanelLink("trader-system", 6, "System", "Alerting pipeline")}
    synced = sync_links(rules, panels)
    assert "dashboard_url: /d/trader-risk?viewPanel=1\n" in synced  # the panel's, not the one written
    assert "viewPanel=99" not in synced
    assert synced.count("runbook_url: docs/runbooks/DemoLow.md") == 1
    assert "dashboard_url: /d/trader-system?viewPanel=6\n" in synced
    with pytest.raises(ValueError, match="alert DemoLow: no dashboard panel declares it"):
        sync_links(rules, {"DemoHigh": panels["DemoHigh"]})


def test_a_new_alert_gets_a_runbook_with_its_facts_and_prose_to_write() -> None:
    book = load_rulebook()
    page = render(book, "TraderDrawdownHigh", PanelLink("trader-risk", 1, "Risk", "Drawdown from peak equity"), None)
    assert page.startswith("# TraderDrawdownHigh\n")
    assert "`trader:drawdown_limit:ratio` = 0.10" in page and "| critical | risk | Prometheus |" in page
    assert prose_of(page).count(TODO) == 3  # what it means, what to check first, what to do
    # Regenerating keeps what a person wrote and rewrites only the generated blocks.
    written = page.replace(TODO, "Prose.", 1)
    assert render(book, "TraderDrawdownHigh", None, written).count("Prose.") == 1


def test_an_alert_two_panels_declare_is_refused() -> None:
    grafana = generate._grafana_generator()
    rendered = grafana.render_all()
    risk = rendered["trader-risk.json"]
    doubled = dict(rendered, **{"copy.json": risk.replace('"uid": "trader-risk"', '"uid": "trader-risk-copy"')})
    with pytest.raises(ValueError, match="declared by two panels"):
        grafana.alert_panels(doubled)
