"""The trader's control API (exporters/control_api.py) on the real trader, over HTTP.

A sim trader with quick bars trades within seconds; the API pauses it, closes its positions,
and refuses what it must (no token, a wrong one, a malformed body, an unknown account). The
exchange-account refusal (403) runs on an in-process trader with a read-only account configured
(its watcher never starts: nothing is asked of an exchange).
"""

from __future__ import annotations

import sqlite3
import stat

import pytest
import requests

from exporters.control_api import TOKEN_FILE, ControlApi
from tests.exporters.scrape_parsing import samples, series_of, value
from tests.support.processes import wait_until
from tests.support.trader import TraderProcess
from trader.config import load_config
from trader.control import Controller
from trader.engine import Trader

pytestmark = pytest.mark.slow

# Quick bars and wide exits: positions open within seconds and stay open until max_hold (20 s),
# so a close from the API is what ends them.
HOLDING = """
feed: {sim_updates_per_second: 10}
paper: {reject_probability: 0.0}
accounts:
  - name: main
    limits: {var_usdt: 1.0e+9, max_open_positions: 5}
    strategies:
      - {type: momentum, bar_seconds: 0.1, lookback_bars: 5, entry_threshold: 0.3, max_hold_seconds: 20,
         entry_timeout_seconds: 0.5, stop_loss_ratio: 0.2, take_profit_ratio: 0.2}
"""
# Quick bars and 2-s holds: positions come and go, so a pause shows within seconds.
BUSY = HOLDING.replace("max_hold_seconds: 20", "max_hold_seconds: 2")


def _trader(tmp_path, config_text: str) -> tuple[TraderProcess, str]:
    config = tmp_path / "trader.yml"
    config.write_text(config_text)
    trader = TraderProcess(tmp_path / "run", "--feed", "sim", "--seed", "5", "--config", str(config))
    token = (tmp_path / "run" / "state" / TOKEN_FILE).read_text()
    return trader, token


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _journal(tmp_path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{tmp_path / 'run' / 'state' / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_token_is_private_required_and_never_logged(tmp_path):
    trader, token = _trader(tmp_path, BUSY)
    try:
        path = tmp_path / "run" / "state" / TOKEN_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(token) >= 40
        base = f"{trader.base_url}/control/v1/accounts"
        none = requests.get(base, timeout=10)
        assert none.status_code == 401 and none.headers["WWW-Authenticate"].startswith("Bearer")
        assert requests.get(base, headers=_auth(token[:-1] + "x"), timeout=10).status_code == 401
        assert requests.get(base, headers={"Authorization": f"Basic {token}"}, timeout=10).status_code == 401
        assert requests.post(f"{base}/main/pause", json={"actor": "x:1"}, timeout=10).status_code == 401
        # metrics and health stay open
        assert requests.get(f"{trader.base_url}/metrics", timeout=10).status_code == 200
        assert requests.get(f"{trader.base_url}/healthz", timeout=10).status_code == 200
        answer = requests.get(base, headers=_auth(token), timeout=10)
        assert answer.status_code == 200
        assert [a["name"] for a in answer.json()["accounts"]] == ["main"]
        unknown = requests.post(f"{base}/nope/pause", json={"actor": "test:1"}, headers=_auth(token), timeout=10)
        assert unknown.status_code == 404 and "no account 'nope'" in unknown.json()["error"]
        for body in (b"{not json", b"[1]", b'{"actor": "has spaces in it"}', b"{}"):
            bad = requests.post(f"{base}/main/pause", data=body, headers=_auth(token), timeout=10)
            assert bad.status_code == 400, body
            assert "\n" not in bad.json()["error"]
        bad_symbol = requests.post(f"{base}/main/close", json={"actor": "t:1", "symbol": "BTC/USDT; DROP"},
                                   headers=_auth(token), timeout=10)
        assert bad_symbol.status_code == 400 and "symbol" in bad_symbol.json()["error"]
        assert requests.get(f"{base}/main/trades?limit=0", headers=_auth(token), timeout=10).status_code == 400
        assert requests.get(f"{base}/main/pause", headers=_auth(token), timeout=10).status_code == 405
    finally:
        trader.stop()
    assert token not in "\n".join(trader.log_lines())


def test_pause_stops_new_entries_and_exits_still_run_then_resume_trades_again(tmp_path):
    trader, token = _trader(tmp_path, BUSY)
    base = f"{trader.base_url}/control/v1/accounts/main"
    try:
        def scraped(name: str, **labels) -> float:
            return value(samples(trader.scrape()), name, **labels)

        wait_until(lambda: scraped("trader_open_positions", account="main") >= 1, 60, "a position opened")
        paused = requests.post(f"{base}/pause", json={"actor": "telegram:42"}, headers=_auth(token), timeout=10)
        assert paused.status_code == 200 and paused.json()["paused"] is True
        # Exits are still managed: the positions held close (2-s max hold)...
        wait_until(lambda: scraped("trader_open_positions", account="main") == 0, 30, "the positions closed")
        refused = scraped("trader_risk_refusals_total", account="main", reason="paused")
        # ...and every new entry the strategy asks for is refused with reason "paused".
        wait_until(lambda: scraped("trader_risk_refusals_total", account="main", reason="paused") >= refused + 2,
                   30, "two more entries refused while paused")
        assert scraped("trader_open_positions", account="main") == 0
        accounts = requests.get(f"{trader.base_url}/control/v1/accounts", headers=_auth(token), timeout=10).json()
        assert accounts["accounts"][0]["paused"] is True and accounts["accounts"][0]["paused_by"] == "telegram:42"
        resumed = requests.post(f"{base}/resume", json={"actor": "telegram:42"}, headers=_auth(token), timeout=10)
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
        wait_until(lambda: scraped("trader_open_positions", account="main") >= 1, 60, "a position after resume")
        wait_until(lambda: {r[0] for r in _journal(tmp_path, "SELECT action FROM actions WHERE actor='telegram:42'")}
                   == {"pause", "resume"}, 10, "pause and resume in the journal's actions")
    finally:
        trader.stop()
    logged = [line for line in trader.log_lines() if '"operator action"' in line]
    assert any('"action": "pause"' in line and '"actor": "telegram:42"' in line for line in logged)


def test_close_and_closeall_end_positions_with_exit_reason_manual(tmp_path):
    trader, token = _trader(tmp_path, HOLDING)
    base = f"{trader.base_url}/control/v1/accounts/main"
    try:
        def positions() -> list[dict]:
            return requests.get(f"{base}/positions", headers=_auth(token), timeout=10).json()["positions"]

        open_now = wait_until(positions, 60, "an open position")
        symbol = open_now[0]["symbol"]
        closed = requests.post(f"{base}/close", json={"actor": "discord:7", "symbol": symbol.lower()},
                               headers=_auth(token), timeout=10)
        assert closed.status_code == 200, closed.text
        assert closed.json()["closing"][0]["symbol"] == symbol and closed.json()["closing"][0]["sent"]
        wait_until(lambda: _journal(tmp_path, f"SELECT 1 FROM trades WHERE symbol='{symbol}' AND exit_reason='manual'"),
                   20, f"the {symbol} round trip in the journal, exit reason manual")
        trades = requests.get(f"{base}/trades?limit=50", headers=_auth(token), timeout=10).json()["trades"]
        assert any(t["symbol"] == symbol and t["exit_reason"] == "manual" for t in trades)
        # pause first, so closeall is the last word; then every position ends as manual
        requests.post(f"{base}/pause", json={"actor": "discord:7"}, headers=_auth(token), timeout=10)
        if positions():
            assert requests.post(f"{base}/closeall", json={"actor": "discord:7"}, headers=_auth(token),
                                 timeout=10).status_code == 200
        wait_until(lambda: not positions(), 20, "no position left")
        nothing = requests.post(f"{base}/closeall", json={"actor": "discord:7"}, headers=_auth(token), timeout=10)
        assert nothing.status_code == 409 and "no open position" in nothing.json()["error"]
        series = series_of(samples(trader.scrape()), "trader_open_positions")
        assert set(series.values()) == {0}
    finally:
        trader.stop()


def test_exchange_accounts_are_read_only_and_a_halt_needs_confirmation(tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("exchange_accounts:\n  - {name: watched, exchange: binance, api_key_env: K, api_secret_env: S}\n")
    trader = Trader(load_config(str(config)), feeds=[], environ={"K": "key", "S": "secret"})
    api = ControlApi(Controller(trader), "t" * 43)
    auth = {"Authorization": "Bearer " + "t" * 43}

    def call(method, path, body=b""):
        return api.handle(method, f"/control/v1/accounts{path}", auth, body, lambda fn: fn())

    status, answer = call("POST", "/watched/pause", b'{"actor": "telegram:1"}')
    assert status == 403 and "read-only" in answer["error"] and "\n" not in answer["error"]
    assert call("POST", "/watched/closeall", b'{"actor": "telegram:1"}')[0] == 403
    assert call("GET", "/watched/positions")[0] == 200  # reading is fine
    # a paper account halted by its drawdown limit: resume without confirm changes nothing
    main = trader.accounts[0].account
    main.halted_drawdown, main.halted_drawdown_at = True, 1.0
    status, answer = call("POST", "/main/resume", b'{"actor": "telegram:1"}')
    assert status == 409 and answer["needs_confirmation"] and answer["halt_reason"] == "max_drawdown"
    assert main.halted_drawdown
    status, answer = call("POST", "/main/resume", b'{"actor": "telegram:1", "confirm": true}')
    assert status == 200 and answer["lifted"] == ["max_drawdown"] and not main.trading_halted


def test_the_token_is_made_once_and_kept_across_restarts(tmp_path):
    from exporters.control_api import load_or_create_token

    token, path = load_or_create_token(tmp_path / "state")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(token) >= 40
    again, _ = load_or_create_token(tmp_path / "state")
    assert again == token
    other, _ = load_or_create_token(tmp_path / "other")
    assert other != token


def test_a_pause_outlasts_a_restart_with_the_same_token(tmp_path):
    trader, token = _trader(tmp_path, BUSY)
    try:
        answer = requests.post(f"{trader.base_url}/control/v1/accounts/main/pause", json={"actor": "telegram:42"},
                               headers=_auth(token), timeout=10)
        assert answer.status_code == 200
        wait_until(lambda: _journal(tmp_path, "SELECT paused, paused_by FROM accounts") == [(1, "telegram:42")], 10,
                   "the pause in the journal")
    finally:
        trader.stop()
    config = tmp_path / "trader.yml"
    again = TraderProcess(tmp_path / "run", "--feed", "sim", "--seed", "5", "--config", str(config))
    try:
        assert (tmp_path / "run" / "state" / TOKEN_FILE).read_text() == token
        accounts = requests.get(f"{again.base_url}/control/v1/accounts", headers=_auth(token), timeout=10).json()
        assert accounts["accounts"][0]["paused"] is True and accounts["accounts"][0]["paused_by"] == "telegram:42"
        wait_until(lambda: value(samples(again.scrape()), "trader_risk_refusals_total", account="main",
                                 reason="paused") >= 1, 30, "entries refused after the restart")
    finally:
        again.stop()
