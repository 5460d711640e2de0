"""``python -m trader resume``: the one way a stopped trader's halt is lifted, logged with who did it
and recorded in the journal's actions; refused while a trader runs on the state dir."""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import sys

import pytest

from tests.exporters.scrape_parsing import samples, value
from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT
from tests.trader_journal.desk import START, Clock, Desk

LAST_EQUITY = 8_436.0349675  # the halted desk's equity (test_journal_round_trip: 15.64 % under 10,000)


def _halted(state_dir) -> None:
    desk = Desk(state_dir)
    desk.quote("BTCUSDT", 60_000.0)
    desk.broker.submit("momentum", "binance", "BTCUSDT", "buy", "market", 0.13, leverage=3)
    desk.quote("BTCUSDT", 48_000.0)
    assert desk.account.halt_reason == "max_drawdown" and desk.account.daily_loss_halted
    desk.flush()
    desk.close()


def _resume(state_dir, *extra: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", "resume", "--state-dir", str(state_dir), *extra],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, stdin=stdin)


def _one_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, result.stderr + result.stdout
    (line,) = result.stderr.splitlines()
    return line


def test_resume_lifts_the_halt_records_who_and_the_next_start_trades(tmp_path):
    _halted(tmp_path / "state")
    result = _resume(tmp_path / "state", "--account", "main", "--yes")
    assert result.returncode == 0, result.stderr
    (log,) = [json.loads(line) for line in result.stdout.splitlines()]
    user = getpass.getuser()
    assert (log["msg"], log["account"], log["actor"], log["user"]) == ("trading halt lifted", "main", f"cli:{user}", user)
    assert log["lifted"] == "max_drawdown,daily_loss"

    again = Desk(tmp_path / "state", Clock(START + 600))
    rows = again.rows("SELECT action, actor, detail FROM actions ORDER BY id")
    assert [(r["action"], r["actor"]) for r in rows] == [("halt", "risk"), ("halt", "risk"), ("resume", f"cli:{user}")]
    detail = json.loads(rows[-1]["detail"])
    assert detail["lifted"] == ["max_drawdown", "daily_loss"]
    assert detail["high_water_mark_usdt"] == [10_000.0, pytest.approx(LAST_EQUITY)]
    snap = again.trader.snapshot().accounts[0]
    # Not halted; the drawdown restarts from the last equity; the history keeps the 15.6 % fall.
    assert not snap.trading_halted
    assert snap.high_water_mark_usdt == pytest.approx(LAST_EQUITY) and snap.drawdown_ratio == pytest.approx(0.0)
    assert snap.max_drawdown_ratio == pytest.approx(0.156397, rel=1e-5)
    again.quote("ETHUSDT", 3_000.0)
    assert again.broker.submit("momentum", "binance", "ETHUSDT", "buy", "market", 0.1, leverage=3) is not None
    assert not again.account.risk_refusals
    again.close()


def test_lifting_in_the_file_and_in_a_running_account_agree(tmp_path):
    _halted(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert _resume(tmp_path / "a", "--account", "main", "--yes").returncode == 0
    by_file = Desk(tmp_path / "a", Clock(START + 600))
    running = Desk(tmp_path / "b", Clock(START + 600))
    assert running.account.lift_halt() == ("max_drawdown", "daily_loss")
    for desk in (by_file, running):
        desk.account.track_equity(desk.clock())  # the limits look again: neither halts anew
    a, b = by_file.trader.snapshot().accounts[0], running.trader.snapshot().accounts[0]
    assert (a.trading_halted, a.high_water_mark_usdt) == (b.trading_halted, pytest.approx(b.high_water_mark_usdt))
    running.flush()
    assert running.rows("SELECT halted, halt_reason, halt_day FROM accounts")[0][:] == \
        by_file.rows("SELECT halted, halt_reason, halt_day FROM accounts")[0][:]
    by_file.close()
    running.close()


def test_without_yes_and_without_a_terminal_it_refuses(tmp_path):
    _halted(tmp_path / "state")
    line = _one_line(_resume(tmp_path / "state", "--account", "main"))
    assert line == "resume: add --yes to lift the halt without a prompt (stdin is not a terminal)"
    desk = Desk(tmp_path / "state", Clock(START + 60))
    assert desk.account.trading_halted
    desk.close()


def test_an_unknown_account_or_no_journal_is_one_line(tmp_path):
    _halted(tmp_path / "state")
    line = _one_line(_resume(tmp_path / "state", "--account", "other", "--yes"))
    assert line.endswith("journal.sqlite3: no account 'other' (accounts: main)"), line
    line = _one_line(_resume(tmp_path / "empty", "--account", "main", "--yes"))
    assert "no such file (no trader has run with --state-dir" in line
    assert not (tmp_path / "empty").exists(), "the command creates nothing"


def test_nothing_to_lift_is_not_an_error_and_writes_nothing(tmp_path):
    desk = Desk(tmp_path / "state")
    desk.flush()
    desk.close()
    line = _one_line(_resume(tmp_path / "state", "--account", "main", "--yes"), code=0)
    assert line == "resume: account 'main' is not halted; nothing to do"
    again = Desk(tmp_path / "state")
    assert again.rows("SELECT COUNT(*) FROM actions")[0][0] == 0
    again.close()


@pytest.mark.slow
def test_refused_while_a_trader_runs_on_the_state_dir(start_trader, tmp_path):
    _halted(tmp_path / "state")
    trader = start_trader("--feed", "sim", "--state-dir", str(tmp_path / "state"))
    halted = lambda: value(samples(trader.scrape()), "trader_trading_halted", account="main") == 1  # noqa: E731
    wait_until(halted, 15, "the resumed halt on /metrics")
    line = _one_line(_resume(tmp_path / "state", "--account", "main", "--yes"))
    assert line == (f"resume: {tmp_path / 'state'}: a trader is running on it (pid {trader.process.pid}); lift the "
                    "halt through that trader's control API, or stop it first")
    assert halted()
    assert trader.stop() == 0
    desk = Desk(tmp_path / "state", Clock())
    assert desk.account.trading_halted, "the refused command changed nothing"
    assert [r["action"] for r in desk.rows("SELECT action FROM actions")] == ["halt", "halt"]
    desk.close()
