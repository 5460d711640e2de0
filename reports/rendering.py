"""Build and render one report: the figures (journal + Prometheus), the words, the chart.

    rendered = render_report(journal, prom, "main", period, now)
    rendered.text.title, len(rendered.png), rendered.email_html
"""

from __future__ import annotations

from dataclasses import dataclass

from .chart import chart_png
from .errors import ReportsError
from .journal import Journal
from .page import report_page
from .periods import Period
from .prometheus import PrometheusReader
from .report import Report, UnknownAccount, build_report
from .transports.mail import CHART_CID
from .wording import Words, words

__all__ = ["Rendered", "render_report", "load_report", "AccountNotFound"]


class AccountNotFound(ReportsError):
    """The journal has no account of that name; the message lists the ones it has."""


@dataclass(frozen=True)
class Rendered:
    report: Report
    text: Words
    png: bytes

    @property
    def email_html(self) -> str:
        return report_page(self.text, f"cid:{CHART_CID}")

    def page(self, image_src: str) -> str:
        return report_page(self.text, image_src)


def load_report(journal: Journal, prom: PrometheusReader | None, account: str, period: Period, now: float,
                late_due_at: float | None = None) -> Report:
    """The report's figures; a ReportsError naming the accounts there are for an unknown one."""
    def build(view):
        try:
            return build_report(view, account, period, now, prom, late_due_at)
        except UnknownAccount:
            names = ", ".join(a.name for a in view.accounts()) or "none yet"
            raise AccountNotFound(f"account {account!r} is not in journal {journal.path}: expected one of {names}") from None

    return journal.query(build)


def render_report(journal: Journal, prom: PrometheusReader | None, account: str, period: Period, now: float,
                  late_due_at: float | None = None) -> Rendered:
    report = load_report(journal, prom, account, period, now, late_due_at)
    return Rendered(report, words(report), chart_png(report))
