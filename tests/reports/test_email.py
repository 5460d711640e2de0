"""The e-mail report: multipart, the chart inline and referenced by the HTML, a plain-text part,
received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re

import pytest

from reports.journal import Journal
from reports.periods import period_containing
from reports.rendering import render_report
from reports.settings import load_settings
from reports.transports import build_transports, send_isolated
from reports.transports.mail import CHART_CID
from tests.alertmanager.am_fakes import FakeSmtp
from tests.reports.journal_fixture import fixed_journal, ts


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    state = tmp_path_factory.mktemp("fixed")
    fixed_journal(state)
    return render_report(Journal(state), None, "main", period_containing("week", ts("2026-05-06")),
                         ts("2026-05-11", 0.1))


def test_email_is_multipart_with_the_chart_inline_and_a_text_part(rendered):
    smtp = FakeSmtp()
    try:
        settings = load_settings({"SMTP_SMARTHOST": smtp.smarthost, "SMTP_FROM": "reports@trader.test",
                                  "SMTP_TO": "me@trader.test", "SMTP_REQUIRE_TLS": "false"})
        transport = build_transports(settings)["email"]
        outcome = asyncio.run(send_isolated(transport, "report",
                                            lambda t: t.send_report(rendered.text, rendered.png, rendered.email_html)))
        assert outcome.ok, outcome.error
        (message,) = smtp.wait_for(count=1)
    finally:
        smtp.stop()
    assert message["Subject"] == "Weekly report · main · week 2026-05-04 to 2026-05-10 UTC"
    assert message["To"] == "me@trader.test" and message["From"] == "reports@trader.test"
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.get_payload()
    assert text_part.get_content_type() == "text/plain"
    text = text_part.get_content()
    assert "Win rate: 50.0 %" in text and "Sharpe 30 d (10 days): 7.10" in text and "UTC" in text
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png" and image.get_payload(decode=True) == rendered.png
    assert image["Content-ID"] == f"<{CHART_CID}>"
    html = html_part.get_content()
    assert re.search(r'<img src="cid:' + re.escape(CHART_CID) + '"', html), "the HTML must show the inline chart"
    assert "Profit factor" in html and "2.67" in html
