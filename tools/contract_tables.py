"""The tables of ``docs/architecture.md`` and ``prometheus/README.md``, generated from what they
describe: the metric specs in ``exporters/``, the rules in ``prometheus/rules/`` and
``loki/rules/``, and the dashboard panels that declare the alerts.

Each ``*_blocks`` function returns {block name: Markdown} for ``tools.markers.replace_blocks``.
"""

from __future__ import annotations

from typing import Mapping

from exporters.catalogue import FAMILIES, all_specs
from exporters.families import MetricSpec
from tools.rulebook import Alert, PanelLink, Rulebook, series_in
from trader import vocabulary

__all__ = ["architecture_blocks", "prometheus_readme_blocks", "limit_metrics_of"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _joined(values: list[str]) -> str:
    return " / ".join(dict.fromkeys(values))


def _metric_row(spec: MetricSpec) -> str:
    labels = ", ".join(spec.labels) or "—"
    what = spec.help + (f" (absent {spec.absent})" if spec.absent else "")
    return f"| `{spec.name}` | {spec.type} | {labels} | {_cell(what)} |"


def _metrics_table() -> str:
    lines = []
    for title, module, specs in FAMILIES:
        lines += ["", f"{title} (`exporters/{module.__name__.rsplit('.', 1)[-1]}.py`)",
                  "| name | type | labels | what |", "|---|---|---|---|"]
        lines += [_metric_row(spec) for spec in specs]
    return "\n".join(lines[1:])


def _threshold_list(book: Rulebook) -> str:
    lines = ["| threshold series | value | rule file |", "|---|---|---|"]
    for t in book.thresholds:
        lines.append(f"| `{t.selector}` | {t.value} | `{t.file}` |")
    return "\n".join(lines)


def _alerts_table(book: Rulebook) -> str:
    lines = ["| alert | severity | category | `for` | rule file |", "|---|---|---|---|---|"]
    for name in book.alert_names():
        variants = book.variants(name)
        lines.append(f"| `{name}` | {_joined([a.severity for a in variants])} | "
                     f"{_joined([a.category for a in variants])} | {_joined([a.for_ for a in variants])} | "
                     f"`{variants[0].file}` |")
    return "\n".join(lines)


def _vocabulary_table() -> str:
    """Every tuple of names trader/vocabulary.py defines, in its order."""
    lines = ["| vocabulary | values |", "|---|---|"]
    for name, value in vars(vocabulary).items():
        if name.isupper() and isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            lines.append(f"| `{name}` | {', '.join(f'`{v}`' for v in value)} |")
    return "\n".join(lines)


def architecture_blocks(book: Rulebook) -> dict[str, str]:
    return {"vocabulary": _vocabulary_table(), "metrics": _metrics_table(), "thresholds": _threshold_list(book),
            "alerts": _alerts_table(book)}


def limit_metrics_of(alert: Alert) -> list[MetricSpec]:
    """The exported configuration limits (``trader_limit_*``) an alert compares with."""
    by_name = {spec.name: spec for spec in all_specs()}
    return [by_name[name] for name in series_in(alert.expr) if name.startswith("trader_limit_") and name in by_name]


def _thresholds_table(book: Rulebook) -> str:
    used_by: dict[str, list[str]] = {}
    limits: dict[str, tuple[MetricSpec, list[str]]] = {}
    for alert in book.alerts:
        for threshold in book.thresholds_of(alert):
            used_by.setdefault(threshold.selector, []).append(alert.name)
        for spec in limit_metrics_of(alert):
            limits.setdefault(spec.name, (spec, []))[1].append(alert.name)
    lines = ["| threshold series | value | used by | why this number |", "|---|---|---|---|"]
    for t in book.thresholds:
        users = ", ".join(dict.fromkeys(used_by.get(t.selector, []))) or "—"
        lines.append(f"| `{t.selector}` | {t.value} | {users} | {_cell(t.why)} |")
    for name, (spec, users) in limits.items():
        lines.append(f"| `{name}` | per account, the trader config's `{spec.reads}` | "
                     f"{', '.join(dict.fromkeys(users))} | {_cell(spec.help)} Exported by the trader. |")
    return "\n".join(lines)


def _panels_table(book: Rulebook, panels: Mapping[str, PanelLink], plotted: Mapping[tuple[str, int], list[str]]) -> str:
    lines = ["| alert | dashboard uid | panel id | panel, and the series it plots |", "|---|---|---|---|"]
    for name in book.alert_names():
        link = panels.get(name)
        if link is None:
            continue  # a Loki alert: its dashboard link is in its LogQL rule
        series = ", ".join(f"`{s}`" for s in plotted.get((link.uid, link.panel_id), []))
        lines.append(f"| {name} | {link.uid} | {link.panel_id} | {link.dashboard} › {_cell(link.title)}: {series} |")
    return "\n".join(lines)


def prometheus_readme_blocks(book: Rulebook, panels: Mapping[str, PanelLink],
                             plotted: Mapping[tuple[str, int], list[str]]) -> dict[str, str]:
    """``plotted``: (dashboard uid, panel id) -> the series the panel's queries read."""
    return {"thresholds": _thresholds_table(book), "alert-panels": _panels_table(book, panels, plotted)}
