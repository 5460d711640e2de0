"""The images users run are exactly the versions the tests ran on (issue: test what users run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.processes import require_binary
from tools import monitoring_binaries

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILES = [REPO / "docker-compose.yml", *sorted((REPO / "deploy").glob("compose.*.yml"))]


@pytest.mark.parametrize("component", monitoring_binaries.COMPONENTS, ids=lambda c: c.name)
def test_every_compose_pin_is_the_tested_patch_release(component: monitoring_binaries.Component) -> None:
    tested = {monitoring_binaries.reported_version(Path(require_binary(link))) for link in component.binaries}
    assert len(tested) == 1, f"{component.name} binaries disagree on their version: {tested}"
    pins = {
        (path.name, tag)
        for path in COMPOSE_FILES
        for tag in re.findall(rf"image:\s*{re.escape(component.image)}:v(\S+)", path.read_text())
    }
    assert pins, f"no compose file pins {component.image}"
    assert {tag for _, tag in pins} == tested, f"{component.image} pins {sorted(pins)}; tests ran {tested}"


def test_a_minor_version_mismatch_fails_in_one_line_naming_the_pin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tested = monitoring_binaries.reported_version(Path(require_binary("prometheus")))
    stale = tmp_path / "docker-compose.yml"
    stale.write_text(monitoring_binaries.COMPOSE.read_text().replace(f"prom/prometheus:v{tested}", "prom/prometheus:v2.42.0"))
    monkeypatch.setattr(monitoring_binaries, "COMPOSE", stale)
    with pytest.raises(SystemExit) as exited:
        monitoring_binaries.main(["--check"])
    assert exited.value.code == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if " but " in line]
    assert failures == [f"monitoring-binaries: prometheus is {tested} but docker-compose.yml pins prom/prometheus:v2.42.0: "
                        "update the prom/prometheus pin to v" + tested + " or obtain 2.42.x"]
