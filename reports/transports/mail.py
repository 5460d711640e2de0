"""E-mail: a multipart message, the HTML report with the chart inline (``cid:``) and the same
report as plain text, sent with ``smtplib`` to ``SMTP_SMARTHOST`` as the Alertmanager render step
configures it (STARTTLS unless ``SMTP_REQUIRE_TLS=false``; implicit TLS on port 465; login when
``SMTP_USERNAME`` is set).

    message = report_email(text, png, html_with_cid, sender="a@x.test", to="b@x.test")
    message.get_content_type()   # 'multipart/alternative'
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Iterable

from alertmanager.settings import Email

from ..wording import Words, plain_text
from .base import Note

__all__ = ["CHART_CID", "report_email", "note_email", "EmailTransport"]

CHART_CID = "chart@reports.trader"  # what the HTML's <img src="cid:..."> names


def _headers(message: EmailMessage, subject: str, sender: str, to: str) -> EmailMessage:
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="reports.trader")
    return message


def report_email(text: Words, png: bytes, html: str, sender: str, to: str) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related(text/html, image/png)."""
    message = _headers(EmailMessage(), text.title, sender, to)
    message.set_content(plain_text(text))
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(png, maintype="image", subtype="png", cid=f"<{CHART_CID}>", filename="chart.png")
    return message


def note_email(note: Note, sender: str, to: str) -> EmailMessage:
    message = _headers(EmailMessage(), note.title, sender, to)
    message.set_content("\n".join([note.title, "", *note.lines] + (["", note.footer] if note.footer else [])))
    return message


class EmailTransport:
    name = "email"

    def __init__(self, config: Email, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    def secrets(self) -> Iterable[str]:
        return (self.config.password or "",)

    def _deliver(self, message: EmailMessage) -> None:
        host, port = self.config.smarthost.rsplit(":", 1)
        host = host.strip("[]")
        context = ssl.create_default_context()
        if int(port) == 465:
            client = smtplib.SMTP_SSL(host, int(port), timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(host, int(port), timeout=self.timeout)
        with client:
            client.ehlo()
            if self.config.require_tls and int(port) != 465:
                client.starttls(context=context)
                client.ehlo()
            if self.config.username:
                client.login(self.config.username, self.config.password or "")
            refused = client.send_message(message)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)

    async def send_report(self, text: Words, png: bytes, html: str) -> None:
        message = report_email(text, png, html, self.config.sender, self.config.to)
        await asyncio.to_thread(self._deliver, message)

    async def send_note(self, note: Note) -> None:
        await asyncio.to_thread(self._deliver, note_email(note, self.config.sender, self.config.to))
