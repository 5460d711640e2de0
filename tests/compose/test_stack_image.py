"""The image of our Python services (Dockerfile) and its first-start step (stack_init.py)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tomllib

import pytest
from tests.compose.compose_stack import REPO

STACK_INIT = REPO / "deploy" / "container" / "stack_init.py"


def _dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def test_installs_the_project_the_way_the_readme_does():
    # README / run-tests.sh: `pip install -e '.[test]'` from the repository root; the image
    # installs the same project the same way, without the editable flag and the test extras.
    assert "pip install" in (REPO / "run-tests.sh").read_text()
    assert re.search(r"(?m)pip install \.$", _dockerfile()), "the Dockerfile must run `pip install .`"


def test_copies_everything_pip_install_needs():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    copied = set(re.findall(r"(?m)^COPY\s+(?!--from)(.+?)\s+\S+$", _dockerfile()))
    copied = {p for line in copied for p in line.split()}
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, f"pyproject packages not copied: {sorted(packages - copied)}"
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for needed in [*packages, "pyproject.toml", "README.md", "deploy/container/"]:
        assert f"!{needed.rstrip('/')}/" in ignored or f"!{needed}" in ignored, f".dockerignore drops {needed}"


def test_no_secret_can_enter_an_image_layer():
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[[i for i, line in enumerate(ignored) if not line.startswith("#")][0]] == "*", \
        ".dockerignore must start from nothing (`*`) so .env never reaches the build context"
    for line in _dockerfile().splitlines():
        if re.match(r"\s*(ARG|ENV)\b", line):
            assert not re.search(r"TOKEN|PASSWORD|SECRET|WEBHOOK", line), f"secret in an image layer: {line}"


def test_runs_as_a_non_root_user():
    users = re.findall(r"(?m)^USER\s+(\S+)", _dockerfile())
    assert users and users[-1].split(":")[0] not in ("0", "root")


# --- stack_init.py ----------------------------------------------------------------------------


def _run(tmp_path, env: dict[str, str]):
    target = tmp_path / "secrets" / "admin-password"
    result = subprocess.run(
        [sys.executable, str(STACK_INIT), "--grafana-password-file", str(target)],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **env},
        capture_output=True, text=True, timeout=30,
    )
    return result, target


def _log(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_first_start_without_env_generates_a_password_and_says_where_it_is(tmp_path):
    result, target = _run(tmp_path, {})
    assert result.returncode == 0, result.stderr
    password = target.read_text()
    assert len(password) >= 20 and password != "admin"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640, "readable by Grafana's group 0 only"
    (line,) = _log(result)
    assert line["level"] == "warning"
    assert f"docker compose exec grafana cat {target}" in line["msg"]
    assert password not in result.stdout + result.stderr, "the password must never be logged"


def test_the_password_survives_a_restart(tmp_path):
    _, target = _run(tmp_path, {})
    first = target.read_text()
    result, _ = _run(tmp_path, {})
    assert target.read_text() == first
    assert "kept" in _log(result)[0]["msg"]


def test_two_first_starts_do_not_share_a_password(tmp_path):
    _, a = _run(tmp_path / "a", {})
    _, b = _run(tmp_path / "b", {})
    assert a.read_text() != b.read_text()


def test_env_password_wins_and_a_change_says_how_to_apply_it(tmp_path):
    _run(tmp_path, {})
    chosen = "a-long-enough-passphrase"
    result, target = _run(tmp_path, {"GRAFANA_ADMIN_PASSWORD": chosen})
    assert result.returncode == 0
    assert target.read_text() == chosen
    messages = " ".join(line["msg"] for line in _log(result))
    assert "reset-admin-password" in messages
    assert chosen not in result.stdout + result.stderr


@pytest.mark.parametrize("weak", ["admin", "Admin", "short", "password"])
def test_weak_password_stops_start_up_with_one_line(tmp_path, weak):
    result, target = _run(tmp_path, {"GRAFANA_ADMIN_PASSWORD": weak})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "GRAFANA_ADMIN_PASSWORD" in line and "at least 12 characters" in line
    assert weak not in line.replace("'admin'", ""), "the rejected value is not echoed"
    assert not target.exists(), "nothing half-written"
