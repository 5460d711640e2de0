"""Test support: real Prometheus, Alertmanager and trader processes on 127.0.0.1."""
