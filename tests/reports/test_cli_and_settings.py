"""The on-demand CLI and the settings: files written, sends made, and every bad input refused in
one line with exit code 2, no secret shown."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reports.errors import ReportsError
from reports.settings import VARIABLES, load_settings
from tests.alertmanager.am_fakes import telegram_visible_text
from tests.compose.compose_stack import env_example, load_stack
from tests.reports.journal_fixture import fixed_journal
from tests.reports.standins import DiscordStandIn, TelegramStandIn
from tests.support.trader import REPO_ROOT


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-state")
    fixed_journal(path)
    return path


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", **(env or {})})


def test_out_writes_the_html_and_the_png(state, tmp_path):
    done = _run("--state-dir", str(state), "--period", "week", "--at", "2026-05-06", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["report-main-week-2026-05-04.html", "report-main-week-2026-05-04.png",
                     "report-other-week-2026-05-04.html", "report-other-week-2026-05-04.png"]
    html = (tmp_path / "report-main-week-2026-05-04.html").read_text()
    assert '<img src="report-main-week-2026-05-04.png"' in html and "Win rate" in html and "UTC" in html
    assert done.stdout.split() == [str(tmp_path / n) for n in (names[0], names[1], names[2], names[3])]


def test_send_goes_to_every_configured_channel(state, tmp_path):
    with TelegramStandIn() as telegram, DiscordStandIn() as discord:
        done = _run("--state-dir", str(state), "--account", "main", "--period", "day", "--at", "2026-05-06", "--send",
                    env={**telegram.env(), **discord.env()})
        assert done.returncode == 0, done.stderr
        (photo,) = telegram.wait_for(lambda r: r.method == "sendPhoto")
        assert telegram_visible_text(photo.fields["caption"]).startswith("Daily report · main · 2026-05-06 UTC")
        (webhook,) = discord.wait_for()
        assert webhook.payload["embeds"][0]["title"] == "Daily report · main · 2026-05-06 UTC"
    assert telegram.token not in done.stdout + done.stderr


def test_send_reports_a_failed_channel_with_exit_1(state):
    with TelegramStandIn() as telegram:
        telegram.fail_next, telegram.fail_status = 10, 400
        done = _run("--state-dir", str(state), "--account", "main", "--at", "2026-05-06", "--send", env=telegram.env())
    assert done.returncode == 1
    assert '"level": "error"' in done.stdout and "telegram: sending the day report failed" in done.stdout


@pytest.mark.parametrize("args, env, says", [
    (("--account", "nobody"), {}, "account 'nobody' is not in journal"),
    (("--at", "06/05/2026"), {}, "--at '06/05/2026' is not a date: expected YYYY-MM-DD"),
    (("--at", "2999-01-01"), {}, "--at '2999-01-01' is in the future"),
    (("--period", "month"), {}, "argument --period: invalid choice: 'month'"),
    ((), {"REPORTS_CHANNELS": "email,sms"}, "REPORTS_CHANNELS='email,sms' names 'sms'"),
    ((), {"REPORTS_TRADE_NOTIFICATIONS": "telegram"}, "REPORTS_TRADE_NOTIFICATIONS lists telegram, which is not configured"),
    ((), {"REPORTS_TRADE_WINDOW_SECONDS": "nan"}, "REPORTS_TRADE_WINDOW_SECONDS='nan' is not a number of seconds"),
    ((), {"REPORTS_PERIODS": "none"}, "REPORTS_PERIODS='none' is not a period"),
    ((), {"TELEGRAM_BOT_TOKEN": "123:secret-token-value", "TELEGRAM_CHAT_ID": "@me"}, "TELEGRAM_CHAT_ID='@me' is not a number"),
    ((), {"DISCORD_WEBHOOK_URL": "https://discord.com/not-a-webhook/secret-hook"}, "DISCORD_WEBHOOK_URL (value hidden"),
    ((), {"SMTP_SMARTHOST": "smtp.example.com", "SMTP_FROM": "a@b.cd", "SMTP_TO": "c@d.ef", "SMTP_PASSWORD": "pw-secret"},
     "SMTP_SMARTHOST='smtp.example.com' is not host:port"),
])
def test_bad_input_is_one_line_and_exit_2(state, tmp_path, args, env, says):
    done = _run("--state-dir", str(state), "--out", str(tmp_path), *args, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert says in line
    for secret in ("secret-token-value", "secret-hook", "pw-secret"):
        assert secret not in done.stdout + done.stderr
    assert not list(tmp_path.iterdir()), "nothing is written when the input is bad"


def test_the_env_example_is_accepted():
    settings = load_settings(env_example())
    assert settings.configured == ("email", "telegram", "discord")
    assert settings.trade_channels and settings.trade_window_seconds > 0


def test_compose_passes_exactly_the_variables_the_service_reads():
    service = load_stack().services["reports"]
    assert set(service["environment"]) == set(VARIABLES)
    raw = load_stack().raw["services"]["reports"]["environment"]
    assert all(value == f"${{{name}:-}}" for name, value in raw.items()), "passed through from .env, as-is"


def test_settings_refuse_in_one_line_without_the_secret():
    with pytest.raises(ReportsError) as caught:
        load_settings({"TELEGRAM_BOT_TOKEN": "not a token", "TELEGRAM_CHAT_ID": "1"})
    assert "value hidden" in str(caught.value) and "not a token" not in str(caught.value)
