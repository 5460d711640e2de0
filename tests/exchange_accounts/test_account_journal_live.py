"""Live: a real trader (``python -m trader --watch-only``) watches a stand-in Binance account into
its journal; started again on the same state dir it serves the same high-water mark, drawdown and
day start, its closed trade is in the journal once, and ``python -m reports`` makes the account's
daily report from that journal, with the trade in it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from tests.exchange_accounts.harness import standin, watch_only_args
from tests.exporters.scrape_parsing import samples, value
from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT

pytestmark = pytest.mark.slow

ACCOUNT = {"account": "binance"}
FIGURES = ("trader_high_water_mark_usdt", "trader_drawdown_ratio", "trader_max_drawdown_ratio",
           "trader_day_start_equity_usdt", "trader_equity_usdt")


def _figures(trader) -> dict[str, float]:
    parsed = samples(trader.scrape())
    return {name: value(parsed, name, **ACCOUNT) for name in FIGURES}


def _trades(state_dir) -> list[tuple]:
    conn = sqlite3.connect(f"file:{state_dir / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT symbol, side, strategy, exit_reason, external_id, net_pnl_usdt FROM trades "
                            "WHERE account = 'binance'").fetchall()
    except sqlite3.OperationalError:  # no journal file yet
        return []
    finally:
        conn.close()


def _scraped(trader, name: str, **labels) -> float | None:
    try:
        return value(samples(trader.scrape()), name, **labels)
    except KeyError:
        return None


def test_a_watched_account_resumes_from_its_journal_and_gets_its_daily_report(start_trader, tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    with standin("binance") as server:
        server.open_position("BTCUSDT", 0.5, 60_000.0, 62_000.0, liquidation=50_000.0, leverage=10.0)
        args = (*watch_only_args(tmp_path, server, monkeypatch), "--state-dir", str(state_dir))
        trader = start_trader(*args)
        wait_until(lambda: _scraped(trader, "trader_equity_usdt", **ACCOUNT), 30, "the first read of the account")
        # A round trip on ETH while watched (fills: Binance keeps no position history), then BTC falls.
        server.fill("ETHUSDT", "BUY", 2.0, 3_000.0, commission=3.0)
        server.fill("ETHUSDT", "SELL", 2.0, 3_100.0, commission=3.1)
        server.set_mark("BTCUSDT", 59_000.0)
        wait_until(lambda: _trades(state_dir), 30, "the closed trade in the journal")
        wait_until(lambda: _scraped(trader, "trader_drawdown_ratio", **ACCOUNT), 30, "the drawdown")
        before = _figures(trader)
        assert trader.stop() == 0
        assert before["trader_drawdown_ratio"] > 0.05

        restarted_at = time.monotonic()  # the stand-in stamps requests on this clock
        again = start_trader(*args)
        # Two history reads after the restart (every 5 s): whatever they re-read is not added again.
        wait_until(lambda: len([r for r in server.requests_to("/fapi/v1/income") if r.at > restarted_at]) >= 2, 30,
                   "two history reads after the restart")
        after = _figures(again)
        assert again.stop() == 0

    assert after == pytest.approx(before)
    [(symbol, side, strategy, reason, external_id, net)] = _trades(state_dir)
    assert (symbol, side, strategy, reason) == ("ETHUSDT", "long", "external", "external")
    assert external_id and net == pytest.approx(200.0 - 3.0 - 3.1)

    out = tmp_path / "out"
    report = subprocess.run([sys.executable, "-m", "reports", "--state-dir", str(state_dir), "--account", "binance",
                             "--period", "day", "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert report.returncode == 0, report.stderr
    [html] = out.glob("report-binance-day-*.html")
    [png] = out.glob("report-binance-day-*.png")
    page = html.read_text()
    assert "exchange account on binance" in page
    assert "ETHUSDT" in page and "1 trade · 100.0 % won · +193.90 USDT" in page
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
