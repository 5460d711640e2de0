"""/metrics picks its format from a parsed Accept header: media type, version and q-values
(RFC 9110 12.5.1), not a substring test."""

from __future__ import annotations

import pytest
import requests

from exporters.negotiation import parse_accept, wants_openmetrics
from tests.exporters.test_exporter_http import serving
from tests.exporters.snapshot_factory import full_snapshot

# What Prometheus 3.5.3 (the binary the tests run) sends, captured from a scrape of a local endpoint,
# and the header of Prometheus 2.x's scrape loop (and of the agents that copied it).
PROMETHEUS_3 = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
                "text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
PROMETHEUS_2 = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


@pytest.mark.parametrize("accept, openmetrics", [
    (PROMETHEUS_3, True),
    (PROMETHEUS_2, True),
    (None, False),  # curl, a browser without preference: the text format
    ("", False),
    ("*/*", False),  # a tie: the text format
    ("text/plain", False),
    ("application/openmetrics-text", True),  # no version: the one we write
    ("Application/OpenMetrics-Text; Version=\"1.0.0\"; Q=0.9, text/plain; q=0.8", True),  # case, quotes
    ("application/openmetrics-text;version=0.0.1, text/plain;q=0.5", False),  # a version we do not write
    ("text/plain;version=0.0.4;q=0.5, application/openmetrics-text;version=1.0.0;q=0.4", False),  # text weighs more
    ("text/html, application/openmetrics-text; q=0", False),  # q=0: not acceptable
    ("application/openmetrics-text;q=0, */*", False),  # the specific range wins over */*
    ("text/*;q=0.5, application/*;q=0.9", True),
    ("application/openmetrics-text;q=2, text/plain;q=0.1", False),  # q > 1 is malformed: that range is ignored
    (" , ,application/openmetrics-text ;version=1.0.0 ,", True),  # stray commas and spaces
    ("garbage", False),
])
def test_the_preferred_format_is_chosen(accept, openmetrics):
    assert wants_openmetrics(accept) is openmetrics


def test_media_ranges_are_parsed_with_their_parameters():
    ranges = parse_accept('Application/OpenMetrics-Text; version="1.0.0"; escaping=allow-utf-8; q=0.6, */*;q=0.2')
    assert [(r.type, r.subtype, r.q, r.params) for r in ranges] == [
        ("application", "openmetrics-text", 0.6, {"version": "1.0.0", "escaping": "allow-utf-8"}),
        ("*", "*", 0.2, {}),
    ]


@pytest.mark.parametrize("accept, content_type", [
    (PROMETHEUS_3, "application/openmetrics-text; version=1.0.0; charset=utf-8"),
    ("*/*", "text/plain; version=0.0.4; charset=utf-8"),
    ("application/openmetrics-text;version=0.0.1", "text/plain; version=0.0.4; charset=utf-8"),
])
def test_the_endpoint_answers_in_the_negotiated_format(accept, content_type):
    with serving(full_snapshot) as server:
        response = requests.get(f"{server.url}/metrics", headers={"Accept": accept}, timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"] == content_type
    assert response.text.endswith("# EOF\n") is content_type.startswith("application/openmetrics-text")
