"""End to end: a real trader (``python -m trader --feed sim``, the fast test strategies) trades for
a few seconds into its journal; ``python -m reports --send`` makes the account's daily report from
that journal and the SMTP (aiosmtpd), Telegram and Discord stand-ins receive it, with the trades
the journal holds."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from tests.alertmanager.am_fakes import FakeSmtp, telegram_visible_text
from tests.reports.standins import DiscordStandIn, TelegramStandIn
from tests.support.processes import wait_until
from tests.support.trader import REPO_ROOT
from tests.trader_core.sim_trader import FAST_SIM

pytestmark = pytest.mark.slow

MIN_TRADES = 3


def _journal_trades(state_dir) -> tuple[int, int]:
    """(trades, wins) of account main closed today (UTC), as the journal holds them."""
    try:
        conn = sqlite3.connect(f"file:{state_dir / 'journal.sqlite3'}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return 0, 0
    try:
        return conn.execute("SELECT COUNT(*), TOTAL(net_pnl_usdt > 0) FROM trades WHERE account = 'main' "
                            "AND date(closed_at, 'unixepoch') = date('now')").fetchone()
    except sqlite3.OperationalError:  # the trader has not created its tables yet
        return 0, 0
    finally:
        conn.close()


def test_a_sim_traders_day_reaches_email_telegram_and_discord(start_trader, tmp_path):
    state_dir = tmp_path / "state"
    # The fast strategies: the default ones are sized to a real market and may close no trade in
    # a minute and a half; a day's report of several trades is what this test is about.
    config = tmp_path / "fast.yml"
    config.write_text(FAST_SIM)
    trader = start_trader("--feed", "sim", "--config", str(config), "--state-dir", str(state_dir))
    wait_until(lambda: _journal_trades(state_dir)[0] >= MIN_TRADES, 90, f"{MIN_TRADES} closed trades in the journal")
    assert trader.stop() == 0  # a clean stop: the journal's last flush, no -wal left
    trades, wins = _journal_trades(state_dir)
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")

    smtp = FakeSmtp()
    try:
        with TelegramStandIn() as telegram, DiscordStandIn() as discord:
            env = {"PATH": "/usr/bin:/bin", **telegram.env(), **discord.env(), "SMTP_SMARTHOST": smtp.smarthost,
                   "SMTP_FROM": "reports@trader.test", "SMTP_TO": "me@trader.test", "SMTP_REQUIRE_TLS": "false"}
            done = subprocess.run([sys.executable, "-m", "reports", "--state-dir", str(state_dir), "--account", "main",
                                   "--period", "day", "--send"], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=120, env=env)
            assert done.returncode == 0, done.stderr + done.stdout[-2000:]
            (photo,) = telegram.wait_for(lambda r: r.method == "sendPhoto")
            (webhook,) = discord.wait_for()
            (mail,) = smtp.wait_for()
    finally:
        smtp.stop()

    title = f"Daily report · main · {today} UTC (so far)"
    caption = telegram_visible_text(photo.fields["caption"])
    assert caption.startswith(title)
    assert f"{trades} trades · win rate" in caption
    assert photo.files["photo"][1][:8] == b"\x89PNG\r\n\x1a\n"
    embed = webhook.payload["embeds"][0]
    assert embed["title"] == title and f"{trades} trades · win rate" in embed["description"]
    assert mail["Subject"] == title
    text_part, related = mail.get_payload()
    text = text_part.get_content()
    assert f"Closed: {trades}" in text and "paper account" in text
    win_rate = f"{wins / trades * 100:.1f} %" if wins / trades * 100 >= 10 else f"{wins / trades * 100:.2f} %"
    assert f"Win rate: {win_rate}" in text
    assert related.get_payload()[1].get_content_type() == "image/png"
