"""The journal read as the reports container reads it: the trader's volume mounted read-only, in
WAL mode, while the trader writes; after it stopped cleanly; after it crashed. And every journal
the reader must refuse, in one line.

The read-only mount is a real read-only directory (0555, files 0444) and a reader process that
cannot override permissions (as root: CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped from its
bounding set before exec), while a writer process that opened the files before keeps writing.
"""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reports.errors import ReportsError
from reports.journal import Journal
from tests.reports.journal_fixture import create_journal, ts
from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT

WRITER = """
import sys, time, os
from pathlib import Path
from tests.reports.journal_fixture import create_journal
journal = create_journal(Path(sys.argv[1]))
journal.account("main", created=0.0)
mode = sys.argv[2]
i = 0
print("ready", flush=True)
while True:
    journal.trade("main", "BTCUSDT", "momentum", 1.0, 60.0, 1_000.0 + i)  # one commit per trade
    i += 1
    print(i, flush=True)
    if mode == "crash" and i == 200:
        os._exit(9)  # as kill -9: no close, the -wal and -shm files stay
    if Path(sys.argv[1], "stop").exists() or (mode == "crash" and i > 200):
        journal.close()  # a clean stop: SQLite checkpoints and removes -wal and -shm
        print("closed", flush=True)
        break
    time.sleep(0.01)
"""

READER = """
import json, sqlite3, sys
from pathlib import Path
from reports.journal import Journal
state = Path(sys.argv[1])
counts = [Journal(state).query(lambda v: len(v.trades("main", 0, 1e12))) for _ in range(2)]
try:
    Path(state, "probe").write_text("x")
    writable = True
except OSError:
    writable = False
try:
    plain = sqlite3.connect(f"file:{state / 'journal.sqlite3'}?mode=ro", uri=True)
    plain.execute("SELECT COUNT(*) FROM trades").fetchone()
    plain_ro = "ok"
except sqlite3.Error as error:
    plain_ro = str(error)
print(json.dumps({"counts": counts, "writable": writable, "plain_ro": plain_ro}))
"""


def _without_dac_override() -> None:
    # PR_CAPBSET_DROP = 24; CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2: root then obeys file modes.
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _read_only(state: Path) -> dict:
    """Read the journal from a process that cannot write ``state``."""
    done = subprocess.run([sys.executable, "-c", READER, str(state)], capture_output=True, text=True, timeout=60,
                          cwd=REPO_ROOT, preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _set_mode(state: Path, writable: bool) -> None:
    for path in state.iterdir():
        path.chmod(0o644 if writable else 0o444)
    state.chmod(0o755 if writable else 0o555)


@pytest.fixture()
def state():
    # Not under pytest's tmp_path: its parents are 0700 and the reader must be able to walk to it.
    root = Path(tempfile.mkdtemp(prefix="reports-ro-"))
    root.chmod(0o755)
    yield root / "state"
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(stat.S_IRWXU)
    subprocess.run(["rm", "-rf", str(root)], check=True)


def _writer(state: Path, mode: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-u", "-c", WRITER, str(state), mode], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_reads_while_the_trader_writes_then_after_a_clean_stop(state):
    writer = _writer(state, "run")
    try:
        wait_until(lambda: Path(f"{state}/journal.sqlite3-wal").exists(), 10, "the writer's -wal file")
        _set_mode(state, writable=False)
        first = _read_only(state)
        assert not first["writable"], "the reader could write the directory: the test proves nothing"
        assert 0 < first["counts"][0] <= first["counts"][1]
        second = _read_only(state)
        assert second["counts"][0] > first["counts"][1], "the reader did not see the writer's new commits"
        assert sorted(p.name for p in state.iterdir()) == ["journal.sqlite3", "journal.sqlite3-shm",
                                                            "journal.sqlite3-wal"]
        _set_mode(state, writable=True)  # the trader's own mount is read-write: it removes -wal/-shm on close
        (state / "stop").write_text("")
        output = writer.communicate(timeout=30)[0].split()
    finally:
        writer.kill()
    assert output[-1] == "closed"
    written = int(output[-2])
    (state / "stop").unlink()
    _set_mode(state, writable=False)
    assert sorted(p.name for p in state.iterdir()) == ["journal.sqlite3"]
    after = _read_only(state)
    assert "readonly" in after["plain_ro"], after  # what a plain read-only open says: hence immutable
    assert after["counts"] == [written, written]


def test_reads_what_a_crashed_trader_committed(state):
    writer = _writer(state, "crash")
    output = writer.communicate(timeout=60)[0].split()
    assert writer.returncode == 9 and output[-1] == "200"
    assert Path(f"{state}/journal.sqlite3-wal").exists()
    _set_mode(state, writable=False)
    assert _read_only(state)["counts"] == [200, 200]


def _one_line(state: Path) -> str:
    with pytest.raises(ReportsError) as caught:
        Journal(state).query(lambda view: view.accounts())
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_refuses_a_journal_it_cannot_read_in_one_line(tmp_path):
    assert "does not exist yet" in _one_line(tmp_path / "none")

    (tmp_path / "dir" / "journal.sqlite3").mkdir(parents=True)
    assert "is not a file" in _one_line(tmp_path / "dir")

    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "journal.sqlite3").write_bytes(b"this is not a database" * 100)
    assert "cannot be read (file is not a database)" in _one_line(tmp_path / "corrupt")

    for version in (0, 3):
        path = tmp_path / f"v{version}"
        create_journal(path).close()
        db = sqlite3.connect(path / "journal.sqlite3")
        db.execute(f"PRAGMA user_version={version}")
        db.close()
        message = _one_line(path)
        assert f"has schema version {version}, expected 1 to 2" in message and str(path) in message


def test_never_writes_the_journal(tmp_path):
    writer = create_journal(tmp_path)
    writer.account("main", created=ts("2026-05-01"))
    writer.close()
    with pytest.raises(ReportsError, match="attempt to write a readonly database"):
        Journal(tmp_path).query(lambda view: view._db.execute("DELETE FROM accounts"))
    assert Journal(tmp_path).query(lambda view: [a.name for a in view.accounts()]) == ["main"]
