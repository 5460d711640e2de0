"""One stack for the whole tests/doctor package: starting it takes a few seconds, and every
healthy-stack case reads it without changing it (cases that break something start their own
Prometheus or Alertmanager)."""

from __future__ import annotations

import pytest

from tests.doctor.doctor_stack import start_doctor_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    with start_doctor_stack(tmp_path_factory.mktemp("doctor-stack")) as running:
        yield running
