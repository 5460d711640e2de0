"""Current Grafana panel JSON that grafanalib 0.7.1 cannot produce.

grafanalib 0.7.1's ``BarGauge``, ``Heatmap`` and ``AlertList`` emit the JSON of Grafana 6-7
(``options.fieldOptions``, the Angular-era heatmap, the legacy alert list). These small ``Panel``
subclasses keep grafanalib's common panel fields (id, title, gridPos, targets, datasource) and
emit the options of the current panels; trader_dashboards.py builds them.
"""

from __future__ import annotations

import attr
from grafanalib.core import Panel

__all__ = ["ModernBarGauge", "ModernHeatmap", "ModernAlertList"]


@attr.s
class ModernBarGauge(Panel):
    """The bar gauge of Grafana 8+ (grafanalib 0.7.1's ``BarGauge`` emits the Grafana 6 shape)."""

    unit = attr.ib(default="")
    minValue = attr.ib(default=None)
    maxValue = attr.ib(default=None)
    dataLinks = attr.ib(factory=list)

    def to_json_data(self):
        return self.panel_json({
            "type": "bargauge",
            "fieldConfig": {"defaults": {
                "unit": self.unit, "min": self.minValue, "max": self.maxValue,
                "color": {"mode": "continuous-GrYlRd"}, "links": self.dataLinks,
            }, "overrides": []},
            "options": {
                "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True,
                "valueMode": "color", "namePlacement": "auto", "sizing": "auto",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            },
        })


@attr.s
class ModernHeatmap(Panel):
    """The heatmap of Grafana 9+ fed by pre-bucketed histogram series (``format: heatmap``)."""

    yUnit = attr.ib(default="s")

    def to_json_data(self):
        return self.panel_json({
            "type": "heatmap",
            "fieldConfig": {"defaults": {"custom": {
                "hideFrom": {"legend": False, "tooltip": False, "viz": False},
                "scaleDistribution": {"type": "linear"},
            }}, "overrides": []},
            "options": {
                "calculate": False,  # Prometheus already bucketed the data (le)
                "cellGap": 1,
                "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential",
                          "exponent": 0.5, "steps": 64, "reverse": False, "fill": "dark-orange"},
                "yAxis": {"axisPlacement": "left", "unit": self.yUnit, "reverse": False},
                "rowsFrame": {"layout": "auto"},
                "cellValues": {"unit": "ops"},
                "filterValues": {"le": 1e-9},
                "legend": {"show": True},
                "tooltip": {"mode": "single", "yHistogram": True, "showColorScale": False},
                "exemplars": {"color": "rgba(255,0,255,0.7)"},
                "showValue": "never",
            },
        })


@attr.s
class ModernAlertList(Panel):
    """The unified-alerting alert list (grafanalib 0.7.1's ``AlertList`` is the legacy one).

    It shows the rules of the Prometheus datasource (provisioned with ``manageAlerts: true``),
    i.e. the alerts of prometheus/rules/*.yml, in the states named by ``states``.
    """

    states = attr.ib(factory=lambda: ("firing", "pending"))
    maxItems = attr.ib(default=20)

    def to_json_data(self):
        state_filter = {s: s in self.states for s in ("firing", "pending", "noData", "normal", "error")}
        data = self.panel_json({
            "type": "alertlist",
            "options": {
                "viewMode": "list", "groupMode": "default", "groupBy": [], "maxItems": self.maxItems,
                "sortOrder": 3,  # by importance (severity), then time
                "dashboardAlerts": False, "alertName": "", "alertInstanceLabelFilter": "",
                "folder": None, "showInstances": True, "stateFilter": state_filter,
            },
        })
        data.pop("targets", None)  # the alert list reads rules, not queries
        return data
