"""Daily and weekly performance reports, with a chart, and trade notifications.

Reads the trader's journal (read-only SQLite, docs/journal.md) and Prometheus; sends to e-mail,
Telegram and Discord; serves reports on demand over HTTP. See reports/README.md.
"""
