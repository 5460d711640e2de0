"""``python -m reports`` as compose runs it: the service process, its HTTP endpoint, its one
line when no channel is set, trade notifications reaching a stand-in, SIGTERM."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.alertmanager.am_fakes import telegram_visible_text
from tests.reports.journal_fixture import create_journal, fixed_journal, ts
from tests.reports.standins import TelegramStandIn
from tests.support.ports import free_port
from tests.support.processes import ManagedProcess, wait_until
from tests.support.trader import REPO_ROOT


def _start(tmp_path: Path, state: Path, env: dict[str, str] | None = None) -> tuple[ManagedProcess, str]:
    port = free_port()
    process = ManagedProcess("reports", [sys.executable, "-m", "reports", "--state-dir", str(state), "--data-dir",
                                         str(tmp_path / "reports-data"), "--port", str(port)],
                             tmp_path / "reports.log", cwd=REPO_ROOT, env=env or {})
    url = f"http://127.0.0.1:{port}"
    process.wait_ready(f"{url}/healthz")
    return process, url


def _log_lines(process: ManagedProcess) -> list[dict]:
    return [json.loads(line) for line in process.log_text().splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("service")
    fixed_journal(tmp_path / "state")
    process, url = _start(tmp_path, tmp_path / "state", env={k: "" for k in ("TELEGRAM_BOT_TOKEN", "SMTP_SMARTHOST",
                                                                              "DISCORD_WEBHOOK_URL")})
    yield process, url
    assert process.stop() == 0  # SIGTERM: a clean exit
    assert any(line["msg"] == "stopped" for line in _log_lines(process))


def test_no_channel_is_said_in_one_line_and_nothing_is_sent(service):
    process, url = service
    lines = [line["msg"] for line in _log_lines(process) if line["level"] == "info"]
    assert sum(msg.startswith("no channel configured: reports and trade notifications are off") for msg in lines) == 1
    health = requests.get(f"{url}/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["journal"] == "ok" and health["report_channels"] == []


def test_the_endpoint_serves_a_report_and_its_chart(service):
    _, url = service
    answer = requests.get(f"{url}/api/v1/reports/main/week.json", params={"at": "2026-05-06"}, timeout=60)
    assert answer.status_code == 200
    body = answer.json()
    assert body["title"] == "Weekly report · main · week 2026-05-04 to 2026-05-10 UTC"
    assert body["figures"]["trades"]["win_rate"] == 0.5 and body["figures"]["risk"]["sharpe_30d"] > 7
    assert "Profit factor: 2.67" in body["text"] and body["sections"][0]["title"] == "Equity and PnL"
    png = requests.get(f"{url}/api/v1/reports/main/week.png", params={"at": "2026-05-06"}, timeout=60)
    assert png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (1080, 1350)
    today = requests.get(f"{url}/api/v1/reports/other/day.json", timeout=60).json()
    assert today["title"].endswith("(so far)") and today["figures"]["complete"] is False


@pytest.mark.parametrize("path, status, says", [
    ("/api/v1/reports/nobody/day.json", 404, "account 'nobody' is not in journal"),
    ("/api/v1/reports/main/month.json", 400, "expected day.json, day.png, week.json or week.png"),
    ("/api/v1/reports/main/day.json?at=yesterday", 400, "at 'yesterday' is not a date: expected YYYY-MM-DD"),
    ("/api/v1/reports/main/day.json?at=2999-01-01", 400, "is in the future"),
])
def test_bad_requests_get_one_line(service, path, status, says):
    _, url = service
    answer = requests.get(f"{url}{path}", timeout=30)
    assert answer.status_code == status and says in answer.json()["error"]


def test_without_a_journal_yet_it_waits_and_says_so(tmp_path):
    process, url = _start(tmp_path, tmp_path / "no-state")
    try:
        assert requests.get(f"{url}/healthz", timeout=5).json()["journal"] == "not written yet"
        answer = requests.get(f"{url}/api/v1/reports/main/day.json", timeout=30)
        assert answer.status_code == 503 and "does not exist yet" in answer.json()["error"]
    finally:
        assert process.stop() == 0


def test_trade_notifications_reach_telegram(tmp_path):
    writer = create_journal(tmp_path / "state")
    writer.account("main", created=ts("2026-05-04"))
    with TelegramStandIn() as telegram:
        process, url = _start(tmp_path, tmp_path / "state", env={**telegram.env(),
                                                                 "REPORTS_TRADE_NOTIFICATIONS": "telegram",
                                                                 "REPORTS_CHANNELS": "none",
                                                                 "REPORTS_TRADE_WINDOW_SECONDS": "5"})
        try:
            wait_until(lambda: any("sending no scheduled reports" in line["msg"] for line in _log_lines(process)), 10,
                       "the service's line saying what it sends")
            wait_until(lambda: (tmp_path / "reports-data" / "reports.sqlite3").exists(), 10, "the service's state")
            # The first poll sets the cursor at the journal's present (an empty one): wait for it.
            state = sqlite3.connect(tmp_path / "reports-data" / "reports.sqlite3")
            wait_until(lambda: state.execute("SELECT COUNT(*) FROM cursors").fetchone()[0] == 2, 20, "the cursor")
            state.close()
            writer.trade("main", "BTCUSDT", "momentum", 42.0, 3_600.0, ts("2026-05-04", 3))
            (message,) = telegram.wait_for(lambda r: r.method == "sendMessage", timeout=30)
            text = telegram_visible_text(message.fields["text"])
            assert text.startswith("Position closed · BTCUSDT · main") and "+42.00 USDT net after 1 h" in text
            assert telegram.token not in process.log_text()
        finally:
            writer.close()
            assert process.stop() == 0
