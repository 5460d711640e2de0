"""The alert and threshold rules as data, for the generated docs, and the link annotations
written into the rule files.

``load_rulebook()`` reads ``prometheus/rules/*.yml`` (and the LogQL rules of ``loki/rules``):
every alert with its file, severity, category, ``for``, expression and annotations, and every
threshold (a constant recording rule in a file's first group, ``*-thresholds`` or ``*-targets``)
with its value and the comment above it that says why.

``sync_links(text, panels)`` rewrites one rule file's ``runbook_url`` and ``dashboard_url``
annotations from where they come from: the runbook path of the alert's name, and the dashboard
panel that declares the alert (``alerts=`` in ``grafana/dashboards_src``). The rest of the file,
comments included, is left as written.

    >>> rule_file = '''groups:
    ...   - name: demo-alerts
    ...     rules:
    ...       - alert: Demo
    ...         expr: vector(1)
    ...         annotations:
    ...           summary: demo
    ... '''
    >>> print(sync_links(rule_file, {"Demo": PanelLink("trader-risk", 4, "Risk", "Drawdown")}), end="")
    groups:
      - name: demo-alerts
        rules:
          - alert: Demo
            expr: vector(1)
            annotations:
              summary: demo
              runbook_url: docs/runbooks/Demo.md
              dashboard_url: /d/trader-risk?viewPanel=4
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

__all__ = ["REPO_ROOT", "PROMETHEUS_RULES", "LOKI_RULES", "RUNBOOKS", "Alert", "Threshold", "PanelLink", "Rulebook",
           "load_rulebook", "sync_links", "runbook_url", "series_in"]

REPO_ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_RULES = REPO_ROOT / "prometheus" / "rules"
LOKI_RULES = REPO_ROOT / "loki" / "rules"
RUNBOOKS = REPO_ROOT / "docs" / "runbooks"

# Series an expression reads: recorded ones (level:metric:operation) and those of the stack.
_SERIES = re.compile(r"(?<![\w:])(?:[a-z_]+:[a-z0-9_]+:[a-z0-9_]+"
                     r"|(?:trader|prometheus|alertmanager)_[a-z0-9_]+|up|ALERTS)(?![\w:])")
_SELECTOR = re.compile(r"(?<![\w:])([a-z_]+:[a-z0-9_]+:[a-z0-9_]+|trader_[a-z0-9_]+)(\{[^}]*\})?")


def runbook_url(alert: str) -> str:
    return f"docs/runbooks/{alert}.md"


def series_in(expr: str) -> list[str]:
    """The series names ``expr`` reads, in order of first appearance (label values ignored)."""
    text = re.sub(r'"[^"]*"', '""', expr)
    return list(dict.fromkeys(m.group() for m in _SERIES.finditer(text)))


@dataclass(frozen=True)
class PanelLink:
    """The dashboard panel that declares an alert."""

    uid: str
    panel_id: int
    dashboard: str  # the dashboard's title
    title: str  # the panel's title

    @property
    def url(self) -> str:
        return f"/d/{self.uid}?viewPanel={self.panel_id}"


@dataclass(frozen=True)
class Threshold:
    name: str  # the recorded series
    file: str  # e.g. "prometheus/rules/risk.yml"
    value: str  # the number as written in vector(...)
    labels: Mapping[str, str]
    why: str  # the comment above the rule, joined into one paragraph

    @property
    def selector(self) -> str:
        if not self.labels:
            return self.name
        return self.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items())) + "}"


@dataclass(frozen=True)
class Alert:
    """One alerting rule (an alert name may have several, one per severity)."""

    name: str
    file: str  # relative to the repository, e.g. "prometheus/rules/risk.yml"
    source: str  # "Prometheus" or "Loki ruler"
    severity: str
    category: str
    for_: str
    expr: str
    annotations: Mapping[str, str]

    @property
    def dashboard_url(self) -> str:
        return self.annotations.get("dashboard_url", "")


@dataclass
class Rulebook:
    alerts: list[Alert] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)
    recorded_exprs: dict[str, str] = field(default_factory=dict)  # record name -> its expression

    def alert_names(self) -> list[str]:
        return list(dict.fromkeys(a.name for a in self.alerts))

    def variants(self, name: str) -> list[Alert]:
        return [a for a in self.alerts if a.name == name]

    def thresholds_of(self, alert: Alert) -> list[Threshold]:
        """The thresholds the alert's expression compares with (label matchers respected), also
        through a recorded series built from them (a per-account limit that picks one of two)."""
        found: list[Threshold] = []
        self._thresholds_in(alert.expr, found, set())
        return found

    def _thresholds_in(self, expr: str, found: list[Threshold], seen: set[str]) -> None:
        for match in _SELECTOR.finditer(re.sub(r"\s+", " ", expr)):
            name, matchers = match.group(1), match.group(2) or ""
            wanted = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', matchers))
            direct = [t for t in self.thresholds if t.name == name]
            for threshold in direct:
                if all(threshold.labels.get(k) == v for k, v in wanted.items()) and threshold not in found:
                    found.append(threshold)
            if not direct and name in self.recorded_exprs and name not in seen:
                seen.add(name)
                self._thresholds_in(self.recorded_exprs[name], found, seen)


def _comments_above(lines: list[str], index: int) -> str:
    """The comment lines right above ``lines[index]``, as one paragraph."""
    comment: list[str] = []
    i = index - 1
    while i >= 0 and lines[i].strip().startswith("#"):
        comment.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return " ".join(comment)


def _thresholds(path: Path, relative: str, groups: list[dict]) -> list[Threshold]:
    first = groups[0]
    if not first["name"].endswith(("-thresholds", "-targets")):
        return []
    lines = path.read_text().splitlines()
    found = []
    for rule in first["rules"]:
        value = re.fullmatch(r"vector\(([-0-9.]+)\)", str(rule["expr"]).strip())
        if "record" not in rule or not value:
            continue
        labels = rule.get("labels") or {}
        # The comment above the first rule of that name (a second severity shares it).
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- record: {rule['record']}")
        found.append(Threshold(rule["record"], relative, value.group(1), dict(labels), _comments_above(lines, index)))
    return found


def load_rulebook(texts: Mapping[Path, str] | None = None) -> Rulebook:
    """Every rule file's alerts and thresholds; ``texts`` replaces files' contents (a rule file
    whose links were just synced, before it is written)."""
    texts = texts or {}
    book = Rulebook()
    sources = [(p, "Prometheus") for p in sorted(PROMETHEUS_RULES.glob("*.yml"))]
    sources += [(p, "Loki ruler") for p in sorted(LOKI_RULES.rglob("*.yml"))]
    for path, source in sources:
        relative = path.relative_to(REPO_ROOT).as_posix()
        groups = (yaml.safe_load(texts.get(path) or path.read_text()) or {}).get("groups", [])
        if source == "Prometheus":
            book.thresholds += _thresholds(path, relative, groups)
        for group in groups:
            for rule in group["rules"]:
                if "record" in rule:
                    book.recorded.add(rule["record"])
                    book.recorded_exprs.setdefault(rule["record"], str(rule["expr"]))
                    continue
                labels = rule.get("labels") or {}
                book.alerts.append(Alert(
                    rule["alert"], relative, source, labels.get("severity", ""), labels.get("category", ""),
                    str(rule.get("for", "0s")), str(rule["expr"]).strip(), dict(rule.get("annotations") or {})))
    return book


_ALERT_LINE = re.compile(r"^(\s*)- alert:\s*(\S+)\s*$")
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][\w-]*):(.*)$")


def sync_links(text: str, panels: Mapping[str, PanelLink]) -> str:
    """``text`` (one Prometheus rule file) with each alert's ``runbook_url`` and ``dashboard_url``
    set from its name and ``panels``; a missing annotation is added after the others. An alert
    no panel declares raises, naming it."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _ALERT_LINE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, name = len(match.group(1)), match.group(2)
        end = i + 1
        while end < len(lines) and not _ends_block(lines[end], indent):
            end += 1
        if name not in panels:
            raise ValueError(f"alert {name}: no dashboard panel declares it; add alerts=({name!r},) to the panel "
                             "of grafana/dashboards_src that shows it")
        out += _set_annotations(lines[i:end], name, {"runbook_url": runbook_url(name),
                                                     "dashboard_url": panels[name].url})
        i = end
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _ends_block(line: str, indent: int) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    return len(line) - len(line.lstrip()) <= indent


def _set_annotations(block: list[str], name: str, values: dict[str, str]) -> list[str]:
    start = next((j for j, line in enumerate(block) if line.strip() == "annotations:"), None)
    if start is None:
        raise ValueError(f"alert {name}: no annotations (summary, description, ...)")
    base = len(block[start]) - len(block[start].lstrip())
    end, key_indent, seen = start + 1, None, set()
    while end < len(block) and (not block[end].strip() or len(block[end]) - len(block[end].lstrip()) > base):
        key = _KEY_LINE.match(block[end])
        if key and (key_indent is None or len(key.group(1)) == key_indent):
            key_indent = len(key.group(1))
            if key.group(2) in values:
                block[end] = f"{key.group(1)}{key.group(2)}: {values[key.group(2)]}"
                seen.add(key.group(2))
        end += 1
    while end > start + 1 and not block[end - 1].strip():
        end -= 1  # insert before blank lines that separate this alert from the next
    pad = " " * (key_indent if key_indent is not None else base + 2)
    missing = [f"{pad}{key}: {value}" for key, value in values.items() if key not in seen]
    return block[:end] + missing + block[end:]
