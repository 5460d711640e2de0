"""Parse an exposition into {(sample name, sorted label pairs): value} with prometheus_client's parsers."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text


def samples(text: str, openmetrics: bool = False) -> dict[tuple[str, tuple], float]:
    parse = parse_openmetrics if openmetrics else parse_text
    out = {}
    for family in parse(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in out, f"duplicate series {key}"
            out[key] = sample.value
    return out


def value(parsed: dict, name: str, **labels) -> float:
    return parsed[(name, tuple(sorted(labels.items())))]


def series_of(parsed: dict, name: str) -> dict[tuple, float]:
    return {labels: v for (n, labels), v in parsed.items() if n == name}
