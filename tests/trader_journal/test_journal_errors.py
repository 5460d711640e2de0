"""A journal the trader cannot use stops ``python -m trader`` at start: one line on stderr naming the
file and the problem, exit code 2, nothing on stdout, and the file exactly as it was."""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT
from trader.journal import open_journal

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _without_file_capabilities() -> None:
    """Run the child as compose runs the trader (cap_drop: ALL): even as root, file permissions
    hold. Dropping the two capabilities from the bounding set keeps them out after exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _start(state_dir: Path, as_compose: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trader", "--feed", "sim", "--state-dir", str(state_dir), "--metrics-port", "0"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        preexec_fn=_without_file_capabilities if as_compose and os.geteuid() == 0 else None)


def _refused(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr + result.stdout[-2000:]
    assert result.stdout == "", "nothing starts"
    (line,) = result.stderr.splitlines()
    for fragment in fragments:
        assert fragment in line, line
    return line


def _journal(state_dir: Path) -> Path:
    open_journal(state_dir, feed_kind="sim").close()
    return state_dir / "journal.sqlite3"


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "state" / "journal.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"account main: 10000 USDT\n" * 200)
    _refused(_start(tmp_path / "state"), str(path), "cannot be read (file is not a database)")
    assert path.read_bytes() == b"account main: 10000 USDT\n" * 200, "never replaced or reset"


def test_a_damaged_journal(tmp_path):
    path = _journal(tmp_path / "state")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[2 * page_size:3 * page_size] = b"\xff" * page_size  # the third page, a table's root page
    path.write_bytes(bytes(data))
    line = _refused(_start(tmp_path / "state"), str(path))
    assert "damaged" in line or "malformed" in line, line
    assert path.read_bytes() == bytes(data)


def test_a_newer_schema(tmp_path):
    path = _journal(tmp_path / "state")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    before = path.read_bytes()
    _refused(_start(tmp_path / "state"), str(path), "schema version 7 is newer than this trader's 2")
    assert path.read_bytes() == before


def test_no_permission_to_the_file(tmp_path):
    path = _journal(tmp_path / "state")
    path.chmod(0o000)
    try:
        _refused(_start(tmp_path / "state", as_compose=True), str(path), "permission denied")
    finally:
        path.chmod(0o644)


def test_no_permission_to_the_state_dir(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state").chmod(0o555)  # a volume owned by someone else: no file can be created
    try:
        _refused(_start(tmp_path / "state", as_compose=True), str(tmp_path / "state"), "cannot write in the state dir")
    finally:
        (tmp_path / "state").chmod(0o755)
    assert not (tmp_path / "state" / "journal.sqlite3").exists()


def test_a_directory_where_the_file_should_be(tmp_path):
    (tmp_path / "state" / "journal.sqlite3").mkdir(parents=True)
    _refused(_start(tmp_path / "state"), str(tmp_path / "state" / "journal.sqlite3"), "is a directory")


def test_a_state_dir_that_is_a_file(tmp_path):
    (tmp_path / "state").write_text("not a directory")
    _refused(_start(tmp_path / "state"), "is not a directory")


@pytest.mark.slow
def test_a_second_trader_on_the_same_state_dir(start_trader, tmp_path):
    first = start_trader("--feed", "sim", "--state-dir", str(tmp_path / "state"))
    wait_until(lambda: (tmp_path / "state" / "journal.sqlite3").exists(), 10, "the first trader's journal")
    line = _refused(_start(tmp_path / "state"), "in use by another process", f"pid {first.process.pid}")
    assert str(tmp_path / "state" / "journal.sqlite3") in line
