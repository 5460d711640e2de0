"""Building blocks shared by the trader's dashboards: datasources, variables, links, panel shapes.

Every ``*.dashboard.py`` beside this file builds its panels from these helpers, so a panel kind
(a time series with its alert threshold line, a stat, a logs link...) is written once.
``grafana/generate.py`` puts this folder on ``sys.path`` before loading the dashboards.

grafanalib 0.7.1 emits pre-Grafana-8 JSON for some panel kinds (``BarGauge``, ``GaugePanel``,
``Heatmap``, ``AlertList``) and its ``Graph`` is Angular, which current Grafana no longer
renders. ``modern_panels.py`` holds small ``Panel`` subclasses that emit the current JSON of
those panels; variables are plain dicts
(``query_variable``, ``custom_variable``, ``textbox_variable``) because grafanalib's
``Template`` cannot express a textbox or an "All" default.

    >>> panel = timeseries(1, "Drawdown", [prom("trader_drawdown_ratio", "{{account}}")], RATIO,
    ...                    limits=[limit("trader:drawdown_limit:ratio", "alert threshold")])
    >>> [t.refId for t in panel.targets]
    ['A', 'X']
"""

from __future__ import annotations

import attr
from grafanalib.core import (
    Dashboard, DashboardLink, GridPos, Logs, Panel, Stat, Table, Target, Templating, Text, Time,
    TimeSeries,
)

from modern_panels import ModernAlertList, ModernBarGauge, ModernHeatmap

__all__ = [
    "PROMETHEUS", "LOKI", "ALERTMANAGER_UID", "TAG", "LOGS_UID",
    "USDT", "RATIO", "SECONDS", "BPS", "BYTES", "SHORT", "OPS",
    "sel", "prom", "loki", "limit", "Limit", "logs_link", "problem_links", "PROBLEM_LEVELS", "value_text",
    "timeseries", "stat", "bargauge", "table", "heatmap", "alertlist", "logs_panel",
    "loki_timeseries", "text", "declared_alerts", "logs_pipeline_stat", "LOGS_PIPELINE_JOBS", "NO_LOGS",
    "query_variable", "custom_variable", "textbox_variable", "standard_variables",
    "trader_dashboard", "flow",
]

# Datasource uids are fixed in grafana/provisioning/datasources/datasources.yml; panels refer to
# them by uid so a renamed datasource never breaks a dashboard.
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}
ALERTMANAGER_UID = "alertmanager"

# Every trader dashboard carries this tag; the dashboard links list dashboards by it.
TAG = "trader"
LOGS_UID = "trader-logs"

# Grafana unit ids.
USDT = "suffix: USDT"
RATIO = "percentunit"  # our *_ratio metrics are 0..1
SECONDS = "s"
BPS = "suffix: bps"
BYTES = "bytes"
SHORT = "short"
OPS = "ops"

# Grafana's panel grid is 24 columns wide.
GRID_WIDTH = 24

_REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVW"
_LIMIT_REF_IDS = "XYZ"  # threshold series come last so their refIds never collide with queries


# --- queries -------------------------------------------------------------------------------


def sel(*variables: str, **exact: str) -> str:
    """A label selector narrowed by dashboard variables, plus exact matchers. Always by the
    ``trader`` variable too: with several traders on one Prometheus (prometheus/README.md
    "Several traders") a panel shows the chosen ones, each series named by its trader.

    >>> sel("account", "exchange", status="rejected")
    '{trader=~"$trader",account=~"$account",exchange=~"$exchange",status="rejected"}'
    """
    matchers = [f'{name}=~"${name}"' for name in ("trader", *variables)]
    matchers += [f'{name}="{value}"' for name, value in exact.items()]
    return "{" + ",".join(matchers) + "}"


def prom(expr: str, legend: str = "", *, instant: bool = False, fmt: str = "time_series") -> Target:
    """A PromQL target on the provisioned Prometheus; its refId is set by the panel helper."""
    return Target(expr=expr, legendFormat=legend, instant=instant, format=fmt,
                  datasource=PROMETHEUS, intervalFactor=1)


def loki(expr: str, legend: str = "") -> Target:
    """A LogQL target on the provisioned Loki."""
    return Target(expr=expr, legendFormat=legend, datasource=LOKI, intervalFactor=1)


@attr.s(frozen=True)
class Limit:
    """A threshold drawn as a dashed line from the same recorded series the alert compares with."""

    expr: str = attr.ib()
    legend: str = attr.ib()
    color: str = attr.ib(default="red")
    right: bool = attr.ib(default=False)  # drawn against the panel's right axis


def limit(expr: str, legend: str = "alert threshold", color: str = "red", *, right: bool = False) -> Limit:
    return Limit(expr, legend, color, right)


def _right_axis(unit: str) -> list[dict]:
    return [{"id": "custom.axisPlacement", "value": "right"}, {"id": "unit", "value": unit}]


def _with_ref_ids(targets: list[Target], limits: list[Limit], right_unit: str = "short"
                  ) -> tuple[list[Target], list[dict]]:
    if len(targets) > len(_REF_IDS) or len(limits) > len(_LIMIT_REF_IDS):
        raise ValueError(f"too many queries in one panel: {len(targets)} targets, {len(limits)} limits")
    out = [attr.evolve(t, refId=_REF_IDS[i]) for i, t in enumerate(targets)]
    overrides = []
    for ref, lim in zip(_LIMIT_REF_IDS, limits):
        out.append(prom(lim.expr, lim.legend))
        out[-1] = attr.evolve(out[-1], refId=ref)
        overrides.append({
            "matcher": {"id": "byFrameRefID", "options": ref},
            "properties": [
                {"id": "color", "value": {"mode": "fixed", "fixedColor": lim.color}},
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                {"id": "custom.lineWidth", "value": 2},
                {"id": "custom.fillOpacity", "value": 0},
                {"id": "custom.stacking", "value": {"mode": "none", "group": "A"}},
            ] + (_right_axis(right_unit) if lim.right else []),
        })
    return out, overrides


# --- links -----------------------------------------------------------------------------------


# The levels the trader logs trouble at (a rejected message, a failed request, a liquidation).
PROBLEM_LEVELS = ("warning", "error", "critical")


def problem_links(series_labels: tuple[str, ...] = ()) -> list[dict]:
    """All the logs of the selection, and only its warnings and errors."""
    return [logs_link(series_labels=series_labels),
            logs_link(levels=PROBLEM_LEVELS, series_labels=series_labels)]


def logs_link(*, levels: tuple[str, ...] = (), series_labels: tuple[str, ...] = ()) -> dict:
    """A data link to the Logs dashboard carrying the time range and the selection.

    ``series_labels`` names labels (``exchange``, ``symbol``) taken from the clicked series
    instead of the dashboard variable, so a click on one exchange's line opens its logs.
    """
    params = ["${__url_time_range}"]
    for name in ("exchange", "symbol"):
        if name in series_labels:
            params.append(f"var-{name}=${{__field.labels.{name}}}")
        else:
            params.append(f"${{{name}:queryparam}}")
    params += [f"var-level={level}" for level in levels]
    title = ("Warnings and errors" if levels else "Logs") + " for this selection"
    return {"title": title, "url": f"/d/{LOGS_UID}/trader-logs?" + "&".join(params), "targetBlank": False}


_ALERTS_LINE = "Alerts: "


def _description(description: str, alerts: tuple[str, ...]) -> str:
    # A panel declares the alerts it shows (``alerts=``); they end its description, so the
    # declaration is in the JSON Grafana shows and "alert -> panel" is one grep away.
    # ``python -m tools.generate`` writes each alert's dashboard_url from it.
    if not alerts:
        return description
    return (description + "\n\n" if description else "") + _ALERTS_LINE + ", ".join(alerts)


def declared_alerts(panel: dict) -> tuple[str, ...]:
    """The alerts a rendered panel (its JSON) declares it shows.

    >>> declared_alerts({"description": "Drawdown.\\n\\nAlerts: TraderDrawdownHigh, TraderTradingHalted"})
    ('TraderDrawdownHigh', 'TraderTradingHalted')
    """
    last = (panel.get("description") or "").rsplit("\n\n", 1)[-1]
    return tuple(last[len(_ALERTS_LINE):].split(", ")) if last.startswith(_ALERTS_LINE) else ()


def _size(w: int, h: int) -> GridPos:
    if not 1 <= w <= GRID_WIDTH:
        raise ValueError(f"panel width w={w}: expected 1..{GRID_WIDTH}")
    return GridPos(h=h, w=w, x=0, y=0)  # x and y are set by flow()


# --- panels ----------------------------------------------------------------------------------


def timeseries(id: int, title: str, targets: list[Target], unit: str, *, limits: list[Limit] = (),
               right: list[Target] = (), right_unit: str = SHORT,
               w: int = 12, h: int = 8, description: str = "", alerts: tuple[str, ...] = (),
               links: list[dict] | None = None, stack: bool = False, draw: str = "line",
               interpolation: str = "linear", min: float | None = None, max: float | None = None,
               legend_calcs: tuple[str, ...] = ("lastNotNull", "max")) -> TimeSeries:
    """A time series; ``limits`` are threshold series drawn dashed in their colour; ``right``
    are series of another unit (``right_unit``) drawn against a right-hand axis."""
    all_targets, overrides = _with_ref_ids(list(targets) + list(right), list(limits), right_unit)
    overrides += [{"matcher": {"id": "byFrameRefID", "options": t.refId}, "properties": _right_axis(right_unit)}
                  for t in all_targets[len(targets):len(targets) + len(right)]]
    return TimeSeries(
        id=id, title=title, dataSource=PROMETHEUS, targets=all_targets, unit=unit,
        gridPos=_size(w, h), description=_description(description, alerts),
        overrides=overrides, legendDisplayMode="table" if legend_calcs else "list",
        legendCalcs=list(legend_calcs), tooltipMode="multi", drawStyle=draw,
        lineInterpolation=interpolation, fillOpacity=20 if stack else 10,
        stacking={"mode": "normal" if stack else "none", "group": "A"},
        thresholds=[{"color": "green", "value": None}], maxDataPoints=None,
        extraJson={"fieldConfig": {"defaults": {
            "links": links if links is not None else [logs_link()],
            "min": min, "max": max,
        }}},
    )


def stat(id: int, title: str, target: Target, unit: str, *, w: int = 4, h: int = 4,
         description: str = "", alerts: tuple[str, ...] = (), mappings: list[dict] = (),
         color: str = "text", graph: bool = True, decimals: int | None = None,
         links: list[dict] | None = None, more: list[Target] = ()) -> Stat:
    """One number per series (last value), coloured by ``mappings`` if given, else in a neutral
    colour; ``more`` adds queries whose series show beside the first one's."""
    refs, _ = _with_ref_ids([target, *more], [])
    return Stat(
        id=id, title=title, dataSource=PROMETHEUS, targets=refs, format=unit,
        gridPos=_size(w, h), description=_description(description, alerts),
        reduceCalc="lastNotNull", graphMode="area" if graph else "none", decimals=decimals,
        colorMode="background" if mappings else "value", mappings=list(mappings),
        color={"mode": "fixed", "fixedColor": color} if not mappings else {"mode": "thresholds"},
        thresholds=[{"color": color if not mappings else "transparent", "value": None}],
        noValue="no data",
        extraJson={"fieldConfig": {"defaults": {"links": links if links is not None else [logs_link()]}}},
    )


def value_text(value: int, text: str, color: str) -> dict:
    """A value mapping (e.g. 1 -> "UP" in green) for stats and tables."""
    return {"type": "value", "options": {str(value): {"text": text, "color": color, "index": value}}}


def table(id: int, title: str, columns: list[tuple[str, Target, str]], *, w: int = 12, h: int = 8,
          description: str = "", alerts: tuple[str, ...] = (),
          hidden: tuple[str, ...] = ("Time", "__name__", "job", "instance"),
          links: list[dict] | None = None) -> Table:
    """One row per label set: each ``(column title, query, unit)`` is an instant query whose value
    becomes a column; Grafana's "merge" joins them on their labels."""
    instant = [attr.evolve(t, instant=True, format="table") for _, t, _ in columns]
    refs, _ = _with_ref_ids(instant, [])
    value_names = {f"Value #{t.refId}": name for (name, _, _), t in zip(columns, refs)}
    overrides = [{"matcher": {"id": "byName", "options": name}, "properties": [{"id": "unit", "value": unit}]}
                 for name, _, unit in columns]
    return Table(
        id=id, title=title, dataSource=PROMETHEUS, targets=refs, gridPos=_size(w, h),
        description=_description(description, alerts), overrides=overrides,
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {name: True for name in hidden},
                                           "renameByName": value_names}},
        ],
        extraJson={"fieldConfig": {"defaults": {"links": links if links is not None else [logs_link()]}}},
    )


def bargauge(id: int, title: str, targets: list[Target], unit: str, *, w: int = 12, h: int = 8,
             min: float | None = None, max: float | None = None, description: str = "",
             alerts: tuple[str, ...] = (), links: list[dict] | None = None) -> ModernBarGauge:
    refs, _ = _with_ref_ids(list(targets), [])
    return ModernBarGauge(
        id=id, title=title, dataSource=PROMETHEUS, targets=refs, gridPos=_size(w, h), unit=unit,
        minValue=min, maxValue=max, description=_description(description, alerts),
        thresholds=[{"color": "green", "value": None}],
        dataLinks=links if links is not None else [logs_link()],
    )


def heatmap(id: int, title: str, bucket_rate_expr: str, y_unit: str, *, w: int = 12, h: int = 8,
            description: str = "", alerts: tuple[str, ...] = ()) -> ModernHeatmap:
    """``bucket_rate_expr`` must be ``sum by (le) (rate(..._bucket[...]))``."""
    target = attr.evolve(prom(bucket_rate_expr, "{{le}}", fmt="heatmap"), refId="A")
    return ModernHeatmap(id=id, title=title, dataSource=PROMETHEUS, targets=[target],
                         gridPos=_size(w, h), yUnit=y_unit, maxDataPoints=None,
                         description=_description(description, alerts))


def alertlist(id: int, title: str, *, w: int = 8, h: int = 8, description: str = "") -> ModernAlertList:
    return ModernAlertList(id=id, title=title, gridPos=_size(w, h), description=description,
                           dataSource=None)


# What an empty Loki panel says instead of a bare "No data": the logs path is optional (the
# metrics path never waits for it), so its absence must be explained where it shows.
NO_LOGS = ("No log lines: if 'Logs pipeline' shows DOWN, Loki or Alloy is not running "
           "(docker compose run --rm doctor says which and how to fix it)")


def _no_value(text: str) -> dict | None:
    return {"fieldConfig": {"defaults": {"noValue": text}}} if text else None


def logs_panel(id: int, title: str, expr: str, *, w: int = 24, h: int = 16,
               description: str = "", no_value: str = "") -> Logs:
    target = attr.evolve(loki(expr), refId="A")
    return Logs(id=id, title=title, dataSource=LOKI, targets=[target], gridPos=_size(w, h),
                description=description, showTime=True, wrapLogMessages=True,
                enableLogDetails=True, prettifyLogMessage=False, sortOrder="Descending",
                extraJson=_no_value(no_value))


def loki_timeseries(id: int, title: str, expr: str, legend: str, *, w: int = 24, h: int = 6,
                    description: str = "", no_value: str = "") -> TimeSeries:
    target = attr.evolve(loki(expr, legend), refId="A")
    return TimeSeries(id=id, title=title, dataSource=LOKI, targets=[target], unit=SHORT,
                      gridPos=_size(w, h), description=description, drawStyle="bars",
                      fillOpacity=60, stacking={"mode": "normal", "group": "A"}, maxDataPoints=None,
                      thresholds=[{"color": "green", "value": None}],
                      legendDisplayMode="list", tooltipMode="multi", extraJson=_no_value(no_value))


# The optional logs path, as Prometheus sees it: the alerts LokiDown and AlloyDown compare the
# same `up` series.
LOGS_PIPELINE_JOBS = ("loki", "alloy")


def logs_pipeline_stat(id: int, *, w: int = 8, h: int = 4, alerts: tuple[str, ...] = ()) -> Stat:
    """"Logs pipeline": UP or DOWN for Loki and Alloy (Prometheus' ``up`` of their jobs)."""
    jobs = "|".join(LOGS_PIPELINE_JOBS)
    return stat(id, "Logs pipeline", prom(f'up{{job=~"{jobs}"}}', "{{job}}"), SHORT, w=w, h=h, graph=False,
                mappings=[value_text(0, "DOWN", "red"), value_text(1, "UP", "green")], alerts=alerts,
                description="Loki stores the logs, Alloy ships them. DOWN: the Logs dashboard and the "
                                      "LogQL alerts see nothing new; metrics, dashboards and metric alerts keep "
                                      "working (they never wait on the logs path). Fix: docker compose run --rm doctor.")


def text(id: int, title: str, content: str, *, w: int = 24, h: int = 3) -> Text:
    return Text(id=id, title=title, content=content, gridPos=_size(w, h))


# --- variables -------------------------------------------------------------------------------


_ALL = {"selected": True, "text": ["All"], "value": ["$__all"]}


def query_variable(name: str, label: str, query: str) -> dict:
    """A Prometheus ``label_values`` variable, multi-valued with "All" (= ``.*``) as default.

    Queries use ``=~"$name"`` so "All" and several values both work.
    """
    return {
        "name": name, "label": label, "type": "query", "datasource": PROMETHEUS,
        "query": query, "definition": query,
        "refresh": 2,  # on time range change: new symbols appear without a reload
        "multi": True, "includeAll": True, "allValue": ".*", "current": dict(_ALL),
        "options": [], "regex": "", "sort": 1, "hide": 0,
    }


def custom_variable(name: str, label: str, values: tuple[str, ...]) -> dict:
    return {
        "name": name, "label": label, "type": "custom", "query": ",".join(values),
        "multi": True, "includeAll": True, "allValue": ".*", "current": dict(_ALL),
        "options": [{"selected": False, "text": v, "value": v} for v in values], "hide": 0,
    }


def textbox_variable(name: str, label: str, default: str = "") -> dict:
    return {
        "name": name, "label": label, "type": "textbox", "query": default,
        "current": {"selected": False, "text": default, "value": default},
        "options": [{"selected": True, "text": default, "value": default}], "hide": 0,
    }


def standard_variables() -> list[dict]:
    """trader, account, exchange, symbol and strategy, each narrowed by the ones before it."""
    return [
        query_variable("trader", "Trader", "label_values(trader_build_info, trader)"),
        query_variable("account", "Account", 'label_values(trader_equity_usdt{trader=~"$trader"}, account)'),
        query_variable("exchange", "Exchange", "label_values(trader_feed_up, exchange)"),
        query_variable("symbol", "Symbol",
                       'label_values(trader_feed_last_message_timestamp_seconds{exchange=~"$exchange"}, symbol)'),
        query_variable("strategy", "Strategy", 'label_values(trader_signals_total{account=~"$account"}, strategy)'),
    ]


# --- layout and dashboard --------------------------------------------------------------------


def flow(*panels: Panel) -> list[Panel]:
    """Place panels left to right in the order given, wrapping at 24 columns; a row is as tall
    as its tallest panel, so panels never overlap."""
    placed, x, y, row_height = [], 0, 0, 0
    for panel in panels:
        w, h = panel.gridPos.w, panel.gridPos.h
        if x + w > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        placed.append(attr.evolve(panel, gridPos=GridPos(h=h, w=w, x=x, y=y)))
        x, row_height = x + w, max(row_height, h)
    return placed


@attr.s
class _CurrentDashboard(Dashboard):
    """grafanalib's Dashboard with the fields of a current dashboard (schema 39) and without
    the pre-Grafana-5 ``rows`` list that would make Grafana migrate it on every load."""

    def to_json_data(self):
        data = super().to_json_data()
        for legacy in ("rows", "hideControls", "sharedCrosshair", "style", "gnetId", "__inputs"):
            data.pop(legacy, None)
        return data


def trader_dashboard(uid: str, title: str, description: str, panels: list[Panel],
                     variables: list[dict] | None = None, time_from: str = "now-6h") -> Dashboard:
    """A dashboard with the shared tag, the links to its siblings and the standard variables."""
    return _CurrentDashboard(
        uid=uid, title=title, description=description, tags=[TAG], editable=True,
        panels=flow(*panels),
        templating=Templating(list=variables if variables is not None else standard_variables()),
        links=[DashboardLink(type="dashboards", tags=[TAG], asDropdown=True, includeVars=True,
                             keepTime=True, title="Trader dashboards")],
        time=Time(time_from, "now"), refresh="30s", timezone="utc", schemaVersion=39,
        graphTooltip=1,  # shared crosshair: one moment lines up across panels
    )
