"""Read a Prometheus text exposition (a service's ``/metrics``) into plain samples.

    >>> text = '# TYPE x_total counter\\nx_total{integration="slack"} 3\\nx_total{integration="email"} 1\\n'
    >>> by_label(samples(text), "x_total", "integration")
    {'slack': 3.0, 'email': 1.0}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from prometheus_client.parser import text_string_to_metric_families

from doctor.http import BadAnswer

__all__ = ["Sample", "samples", "by_label", "total"]


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def samples(text: str) -> list[Sample]:
    try:
        return [Sample(s.name, dict(s.labels), float(s.value))
                for family in text_string_to_metric_families(text) for s in family.samples]
    except ValueError as error:
        raise BadAnswer(f"/metrics is not the Prometheus text format: {error}") from None


def by_label(found: list[Sample], name: str, label: str) -> dict[str, float]:
    """``name``'s values summed by one label (the others, such as ``reason``, are added up)."""
    result: dict[str, float] = {}
    for sample in found:
        if sample.name == name and label in sample.labels:
            result[sample.labels[label]] = result.get(sample.labels[label], 0.0) + sample.value
    return result


def total(found: list[Sample], name: str) -> float | None:
    """The sum of ``name`` over all its series; None when it is not exposed at all."""
    values = [s.value for s in found if s.name == name]
    return sum(values) if values else None
