"""The report as an HTML page: the e-mail's HTML part and the CLI's ``--out`` file.

One column, at most 640 px wide, system fonts, inline styles only (e-mail clients drop
stylesheets), the chart first. ``image_src`` is ``cid:...`` in an e-mail, a file name on disk.

    html = report_page(words(report), image_src="cid:chart@reports.trader")
"""

from __future__ import annotations

from html import escape

from .wording import Words

__all__ = ["report_page"]

_FONT = "-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif"


def _rows(lines: tuple[tuple[str, str], ...]) -> str:
    out = []
    for label, value in lines:
        if label:
            out.append(f'<tr><td style="padding:3px 8px 3px 0;color:#555">{escape(label)}</td>'
                       f'<td style="padding:3px 0;text-align:right;font-weight:600">{escape(value)}</td></tr>')
        else:
            out.append(f'<tr><td colspan="2" style="padding:3px 0">{escape(value)}</td></tr>')
    return "".join(out)


def report_page(text: Words, image_src: str) -> str:
    sections = "".join(
        f'<h2 style="font-size:17px;margin:22px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px">'
        f'{escape(section.title)}</h2><table style="width:100%;border-collapse:collapse;font-size:15px">'
        f"{_rows(section.lines)}</table>"
        for section in text.sections)
    summary = "".join(f'<li style="margin:2px 0">{escape(line)}</li>' for line in text.summary)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(text.title)}</title></head>"
        f'<body style="margin:0;padding:12px;background:#ffffff;color:#111;font-family:{_FONT}">'
        '<div style="max-width:640px;margin:0 auto">'
        f'<h1 style="font-size:20px;margin:4px 0 10px">{escape(text.title)}</h1>'
        f'<img src="{escape(image_src)}" alt="Equity, BTC buy-and-hold and drawdown (UTC)" width="640" '
        'style="width:100%;max-width:640px;height:auto;display:block">'
        f'<ul style="padding-left:18px;font-size:16px;margin:12px 0">{summary}</ul>'
        f"{sections}"
        f'<p style="color:#666;font-size:13px;margin-top:22px">{escape(text.footer)}</p>'
        "</div></body></html>"
    )
