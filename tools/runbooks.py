"""Runbooks, ``docs/runbooks/<Alert>.md``: the facts generated from the rule and its panel, the
prose written by a person.

A runbook is its title, a generated header (severity, category, rule file, ``for``, thresholds
with their current values, the dashboard panel, the expression), the hand-written sections
(*What it means*, *What to check first*, *What to do*), and a generated footer (the dashboard
link, how to silence it, how to tune it). ``render`` keeps whatever is outside the two generated
blocks, so editing a rule updates its runbook and never touches the prose; a new alert gets a
runbook whose prose sections say ``TODO``, which a test refuses.
"""

from __future__ import annotations

import re

from tools.contract_tables import limit_metrics_of
from tools.markers import begin, blocks_in, end, replace_blocks
from tools.rulebook import Alert, PanelLink, Rulebook

__all__ = ["render", "prose_of", "PROSE_SECTIONS", "TODO"]

PROSE_SECTIONS = ("## What it means", "## What to check first", "## What to do")
TODO = "TODO: written by whoever adds the alert."
_AMTOOL = "amtool --alertmanager.url=http://localhost:9093"


def prose_of(text: str) -> str:
    """The hand-written part of a runbook: everything but its title and its generated blocks."""
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    for name in blocks_in(body):
        body = re.sub(re.escape(begin(name)) + r"\n.*?" + re.escape(end(name)), "", body, flags=re.DOTALL)
    return body.strip("\n")


def _skeleton() -> str:
    return "\n\n".join(f"{heading}\n\n{TODO}" for heading in PROSE_SECTIONS)


def _thresholds(book: Rulebook, alert: Alert) -> str:
    parts = [f"`{t.selector}` = {t.value}" for t in book.thresholds_of(alert)]
    parts += [f"`{spec.name}` (the account's `{spec.reads}`)" for spec in limit_metrics_of(alert)]
    return ", ".join(parts) or "none (a state, or written in the expression)"


def _header(book: Rulebook, name: str, link: PanelLink | None) -> str:
    variants = book.variants(name)
    first = variants[0]
    dashboard = first.dashboard_url
    where = f"{link.dashboard} › {link.title}" if link else "the alert's dashboard link"
    lines = [f"| severity | category | source | rule file | `for` | thresholds |",
             "|---|---|---|---|---|---|"]
    for alert in variants:
        lines.append(f"| {alert.severity} | {alert.category} | {alert.source} | `{alert.file}` | {alert.for_} | "
                     f"{_thresholds(book, alert)} |")
    lines += ["", f"Dashboard: [{where}]({dashboard}) (`{dashboard}`).", ""]
    for alert in variants:
        language = "promql" if alert.source == "Prometheus" else "logql"
        label = f"{alert.severity}:\n\n" if len(variants) > 1 else ""
        lines += [f"{label}```{language}", alert.expr, "```", ""]
    return "\n".join(lines).rstrip("\n")


def _footer(book: Rulebook, name: str, link: PanelLink | None) -> str:
    first = book.variants(name)[0]
    dashboard = first.dashboard_url
    if link:
        shows = (f"Grafana `{dashboard}`: dashboard *{link.dashboard}* (uid `{link.uid}`), panel {link.panel_id} "
                 f"*{link.title}*, the panel that declares this alert; the alert's `dashboard_url` links there, "
                 "made absolute with `GRAFANA_URL`. It plots the series the rule compares.")
    else:
        shows = (f"Grafana `{dashboard}`, the alert's `dashboard_url` (written in its rule file), made absolute "
                 "with `GRAFANA_URL`.")
    thresholds = []
    for alert in book.variants(name):
        thresholds += [t for t in book.thresholds_of(alert) if t not in thresholds]
    if thresholds:
        names = ", ".join(f"`{t.selector}` (now {t.value})" for t in thresholds)
        tune = (f"Its threshold is a recording rule at the top of `{first.file}`: {names}. Edit the number "
                "there (the comment above it says why it is that number), then "
                "`curl -X POST http://localhost:9090/-/reload`; the alert, its message and the panel's threshold "
                "line follow. See `prometheus/README.md`.")
    elif limit_metrics_of(first):
        tune = ("Its limit is the account's own, from the trader's config (" +
                ", ".join(f"`{spec.reads}`" for spec in limit_metrics_of(first)) +
                "): change it there and restart the trader.")
    elif first.source == "Loki ruler":
        tune = (f"Its limit is written in its LogQL expression in `{first.file}`; Loki's ruler re-reads its "
                "rule files on its own, no restart needed.")
    else:
        tune = (f"It has no threshold: it fires on a state. Change its expression or `for` in `{first.file}`, "
                "then `curl -X POST http://localhost:9090/-/reload`.")
    return "\n".join([
        "## Dashboard", "", shows, "",
        "## Silence it", "",
        "While you work on it, silence it so it stops repeating (it still shows in Prometheus):", "",
        "```sh",
        f"{_AMTOOL} silence add alertname={name} \\",
        '  --duration=2h --author="$USER" --comment="investigating: <what you are doing>"',
        f"{_AMTOOL} silence query alertname={name}",
        f"{_AMTOOL} silence expire <silence id>",
        "```", "",
        "Add label matchers (`account=main`, `exchange=binance`, `severity=warning`) to silence one",
        f"series only. In the UI: open http://localhost:9093/#/alerts, find `{name}`, press **Silence**,",
        "set the duration and a comment, **Create**; or in Grafana, Alerting > Silences with the",
        "Alertmanager data source.", "",
        "## Tune it", "", tune,
    ])


def render(book: Rulebook, name: str, link: PanelLink | None, current: str | None) -> str:
    """The runbook of alert ``name``: ``current``'s prose (or the TODO skeleton) between the
    generated header and footer."""
    prose = prose_of(current) if current else _skeleton()
    page = "\n\n".join([f"# {name}", f"{begin('header')}\n{end('header')}", prose,
                        f"{begin('footer')}\n{end('footer')}"]) + "\n"
    return replace_blocks(page, {"header": _header(book, name, link), "footer": _footer(book, name, link)},
                          f"docs/runbooks/{name}.md")
