"""Regenerate every generated file from its source, or check that none is stale.

    python -m tools.generate           # write what changed
    python -m tools.generate --check   # exit 1, naming the stale files

What is generated, from what (a fact is written once, in the source; the rest follows):

| file | from |
|---|---|
| ``grafana/dashboards/*.json`` | ``grafana/dashboards_src/*.dashboard.py`` (``grafana/generate.py``) |
| ``runbook_url``, ``dashboard_url`` of every alert in ``prometheus/rules/*.yml`` | the alert's name; the panel that declares it (``alerts=`` in the dashboard sources) |
| ``docs/metrics.md`` | the metric specs in ``exporters/`` (``exporters/catalogue.py``) |
| the tables of ``docs/architecture.md`` and ``prometheus/README.md`` | the metric specs, the rule files, the panels |
| the header and footer of each ``docs/runbooks/<Alert>.md`` | its rule (Prometheus or Loki), its thresholds, its panel |

A new alert is its rule, its promtool tests, a panel that declares it, and its runbook's prose:
this writes its links, its runbook (with ``TODO`` prose a test refuses) and the tables.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from exporters.catalogue import CATALOGUE_PATH, render_catalogue
from tools import contract_tables, runbooks
from tools.markers import replace_blocks
from tools.rulebook import PROMETHEUS_RULES, REPO_ROOT, RUNBOOKS, PanelLink, load_rulebook, series_in, sync_links

__all__ = ["generated_files", "stale", "main"]

ARCHITECTURE = REPO_ROOT / "docs" / "architecture.md"
PROMETHEUS_README = REPO_ROOT / "prometheus" / "README.md"


def _grafana_generator() -> ModuleType:
    """grafana/generate.py (grafana/ is a folder of sources, not a Python package)."""
    spec = importlib.util.spec_from_file_location("grafana_generate", REPO_ROOT / "grafana" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def generated_files() -> dict[Path, str]:
    """Every generated file's path -> the text it must hold."""
    grafana = _grafana_generator()
    dashboards = grafana.render_all()
    files: dict[Path, str] = {grafana.OUTPUT_DIR / name: text for name, text in dashboards.items()}
    panels = {alert: PanelLink(*where) for alert, where in grafana.alert_panels(dashboards).items()}
    plotted = {}
    for text in dashboards.values():
        dashboard = json.loads(text)
        for panel in dashboard["panels"]:
            exprs = " ".join(t.get("expr", "") for t in panel.get("targets", []))
            plotted[(dashboard["uid"], panel["id"])] = series_in(exprs)
    rule_files = {path: sync_links(path.read_text(), panels) for path in sorted(PROMETHEUS_RULES.glob("*.yml"))}
    files.update(rule_files)
    book = load_rulebook(rule_files)
    files[CATALOGUE_PATH] = render_catalogue()
    files[ARCHITECTURE] = replace_blocks(ARCHITECTURE.read_text(), contract_tables.architecture_blocks(book),
                                         "docs/architecture.md")
    files[PROMETHEUS_README] = replace_blocks(PROMETHEUS_README.read_text(),
                                              contract_tables.prometheus_readme_blocks(book, panels, plotted),
                                              "prometheus/README.md")
    for name in book.alert_names():
        path = RUNBOOKS / f"{name}.md"
        files[path] = runbooks.render(book, name, panels.get(name), _read(path))
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """The files whose content on disk differs from ``files`` (or that do not exist)."""
    return [path for path, text in files.items() if _read(path) != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files, write nothing")
    args = parser.parse_args(argv)
    try:
        files = generated_files()
    except ValueError as error:  # a source that cannot be generated from: one line naming it
        print(f"generate: {error}", file=sys.stderr)
        return 2
    changed = stale(files)
    names = ", ".join(str(p.relative_to(REPO_ROOT)) for p in changed)
    if args.check:
        if changed:
            print(f"stale generated files (run `python -m tools.generate`): {names}", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files up to date")
        return 0
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    print(f"{len(files)} generated files, {len(changed)} written" + (f": {names}" if changed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
