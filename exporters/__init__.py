"""Prometheus exporters: collectors that read the trader's snapshot and observe its events."""
