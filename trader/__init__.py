"""The trading core: market data, paper execution, portfolio and risk. Knows nothing of Prometheus."""

__version__ = "0.1.0"
