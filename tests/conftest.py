"""Fixtures that start the real Prometheus, Alertmanager and trader on 127.0.0.1.

Each factory fixture starts as many processes as a test asks for and stops them all at teardown;
the tail of their logs is attached to the report of a test that fails.

    def test_query(start_prometheus):
        prom = start_prometheus(CONFIG, files={"rules/x.yml": RULES})
        assert prom.query("vector(1)")[0]["value"][1] == "1"
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.alertmanager import AlertmanagerServer
from tests.support.processes import LIVE_PROCESSES
from tests.support.prometheus import PrometheusServer
from tests.support.trader import REPO_ROOT, TraderProcess

_started_by_item = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _factory(request, tmp_path_factory, make):
    started = []
    request.node.stash.setdefault(_started_by_item, [])

    def start(*args, **kwargs):
        workdir = tmp_path_factory.mktemp(make.__name__.lower())
        server = make(workdir, *args, **kwargs)
        started.append(server)
        request.node.stash[_started_by_item].append(server.process)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def start_prometheus(request, tmp_path_factory):
    """``start_prometheus(config_yaml, files=None) -> PrometheusServer``."""
    yield from _factory(request, tmp_path_factory, PrometheusServer)


@pytest.fixture
def start_alertmanager(request, tmp_path_factory):
    """``start_alertmanager(config_yaml, files=None) -> AlertmanagerServer``."""
    yield from _factory(request, tmp_path_factory, AlertmanagerServer)


@pytest.fixture
def start_trader(request, tmp_path_factory):
    """``start_trader(*cli_args) -> TraderProcess`` (``--metrics-port`` is added)."""
    yield from _factory(request, tmp_path_factory, TraderProcess)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        processes = list(item.stash.get(_started_by_item, [])) + [p for p in LIVE_PROCESSES]
        seen = set()
        for process in processes:
            if id(process) in seen:
                continue
            seen.add(id(process))
            try:
                report.sections.append((f"{process.name} log (tail)", process.log_tail(80)))
            except (OSError, ValueError):
                pass
