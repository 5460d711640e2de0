"""Render the grafanalib dashboards to the JSON files Grafana provisions.

    python grafana/generate.py           # rewrite grafana/dashboards/*.json
    python grafana/generate.py --check   # exit 1, naming the files, if the JSON is stale

Each ``grafana/dashboards_src/<name>.dashboard.py`` defines a module-level ``dashboard``; its JSON
goes to ``grafana/dashboards/<uid>.json`` (the uid names the file so the home-dashboard path in
the compose file is stable). The JSON is committed: Grafana reads files, not Python.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from grafanalib._gen import DashboardEncoder

GRAFANA_DIR = Path(__file__).resolve().parent
SOURCE_DIR = GRAFANA_DIR / "dashboards_src"
OUTPUT_DIR = GRAFANA_DIR / "dashboards"
SUFFIX = ".dashboard.py"


def load_dashboard(path: Path):
    """The ``dashboard`` object defined by one ``*.dashboard.py`` file."""
    if str(SOURCE_DIR) not in sys.path:
        sys.path.insert(0, str(SOURCE_DIR))  # the shared helpers module lives beside the sources
    spec = importlib.util.spec_from_file_location(path.name[: -len(SUFFIX)] + "_dashboard", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dashboard = getattr(module, "dashboard", None)
    if dashboard is None:
        raise SystemExit(f"{path}: defines no module-level `dashboard`")
    return dashboard


def render_all() -> dict[str, str]:
    """File name -> JSON text, for every dashboard source."""
    rendered: dict[str, str] = {}
    for path in sorted(SOURCE_DIR.glob("*" + SUFFIX)):
        dashboard = load_dashboard(path)
        if not dashboard.uid:
            raise SystemExit(f"{path}: dashboard has no uid; expected one of docs/architecture.md")
        name = f"{dashboard.uid}.json"
        if name in rendered:
            raise SystemExit(f"{path}: uid {dashboard.uid!r} is already used by another dashboard")
        rendered[name] = json.dumps(dashboard.to_json_data(), sort_keys=True, indent=2,
                                    cls=DashboardEncoder) + "\n"
    return rendered


def alert_panels(rendered: dict[str, str]) -> dict[str, tuple[str, int, str, str]]:
    """alert -> (dashboard uid, panel id, dashboard title, panel title) of the panel that declares
    it (``alerts=`` in the sources); an alert declared by two panels raises, naming both."""
    from trader_dashboards import declared_alerts  # beside the sources, on sys.path once loaded

    found: dict[str, tuple[str, int, str, str]] = {}
    for text in rendered.values():
        dashboard = json.loads(text)
        for panel in dashboard["panels"]:
            for alert in declared_alerts(panel):
                where = (dashboard["uid"], panel["id"], dashboard["title"], panel["title"])
                if alert in found:
                    raise ValueError(f"alert {alert}: declared by two panels, {found[alert][:2]} and {where[:2]}; "
                                     "one panel shows an alert")
                found[alert] = where
    return found


def stale_files(rendered: dict[str, str]) -> list[str]:
    """Committed files that differ from ``rendered``, are missing, or have no source any more."""
    existing = {p.name for p in OUTPUT_DIR.glob("*.json")}
    stale = [name for name, text in rendered.items()
             if name not in existing or (OUTPUT_DIR / name).read_text() != text]
    return sorted(stale + [name for name in existing - set(rendered)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale JSON, write nothing")
    args = parser.parse_args(argv)
    rendered = render_all()
    stale = stale_files(rendered)
    if args.check:
        if stale:
            print("stale dashboard JSON (run `python grafana/generate.py`): " + ", ".join(stale))
            return 1
        print(f"{len(rendered)} dashboards up to date")
        return 0
    OUTPUT_DIR.mkdir(exist_ok=True)
    for name in set(p.name for p in OUTPUT_DIR.glob("*.json")) - set(rendered):
        (OUTPUT_DIR / name).unlink()  # a dashboard whose source was removed
    for name, text in rendered.items():
        (OUTPUT_DIR / name).write_text(text)
    print(f"wrote {len(rendered)} dashboards to {OUTPUT_DIR}" + (f" ({len(stale)} changed)" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
