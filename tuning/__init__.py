"""Tune an alert rule against history: how often would it have fired, and how many notifications
would that have been on each channel? ``python -m tuning ALERTNAME --help``; see tuning/README.md."""
