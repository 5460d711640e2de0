"""The chat service's world on 127.0.0.1: the sim trader (control API on), the committed rules in
the real Prometheus, the rendered config in the real Alertmanager (its channels: the stand-ins of
tests/alertmanager/am_fakes), and ``python -m chat`` talking to a Telegram Bot API stand-in.

    with start_chat_stack(tmp_path) as stack:
        stack.telegram.say(OPERATOR, "/status")
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import requests

from tests.alertmanager.am_fakes import FakeReceivers, start_receivers
from tests.alertmanager.am_stack import FAST_TIMING, render_config
from tests.chat.standins import DISCORD_OPERATOR, OPERATOR, DiscordBot, TelegramBot
from tests.doctor.doctor_stack import FAST_RESEND, prometheus_config
from tests.reports.standins import Received
from tests.support.alertmanager import AlertmanagerServer
from tests.support.ports import free_port
from tests.support.processes import ManagedProcess, wait_until
from tests.support.prometheus import PrometheusServer
from tests.support.trader import REPO_ROOT, TraderProcess

__all__ = ["ChatStack", "start_chat_stack", "BUSY", "ChatProcess"]

# Quick bars and 2-s holds: positions come and go within seconds, so a pause shows at once.
BUSY = """
feed: {sim_updates_per_second: 10}
paper: {reject_probability: 0.0}
accounts:
  - name: main
    limits: {var_usdt: 1.0e+9}
    strategies:
      - {type: momentum, bar_seconds: 0.1, lookback_bars: 5, entry_threshold: 0.3, max_hold_seconds: 2,
         entry_timeout_seconds: 0.5, stop_loss_ratio: 0.2, take_profit_ratio: 0.2}
"""


class ChatProcess:
    """``python -m chat`` with ``env``; ready once it polls the Telegram stand-in."""

    def __init__(self, workdir: Path, env: dict[str, str], telegram: TelegramBot | None,
                 discord: DiscordBot | None = None) -> None:
        self.process = ManagedProcess("chat", [sys.executable, "-m", "chat"], workdir / "chat.log", cwd=REPO_ROOT,
                                      env=env)
        if telegram is not None:
            def polling() -> bool:
                if self.process.poll() is not None:
                    raise AssertionError(f"chat exited {self.process.poll()}:\n{self.process.log_tail()}")
                return telegram.polls > 0

            wait_until(polling, 30, "the chat service polling Telegram")
        if discord is not None:
            wait_until(lambda: discord.connected or self.process.poll() is not None, 30,
                       "the chat service on the Discord gateway")

    def log_text(self) -> str:
        return self.process.log_text()

    def stop(self) -> int | None:
        return self.process.stop()


@dataclass
class ChatStack:
    workdir: Path
    trader: TraderProcess
    fakes: FakeReceivers
    alertmanager: AlertmanagerServer
    prometheus: PrometheusServer
    telegram: TelegramBot
    chat: ChatProcess
    token_file: Path
    discord: DiscordBot | None = None
    reports_url: str = ""

    def ask(self, user: int, text: str, predicate: Callable[[Received], bool] = lambda r: True,
            method: str = "sendMessage", timeout: float = 30) -> Received:
        """Send ``text`` as ``user`` and return the first bot message after it that fits ``predicate``."""
        before = len(self.telegram.sent(method))
        self.telegram.say(user, text)

        def answered():
            fresh = self.telegram.sent(method)[before:]
            return next((r for r in fresh if predicate(r)), None)

        return wait_until(answered, timeout, f"a {method} answering {text!r}")

    def chat_env(self, **extra: str) -> dict[str, str]:
        discord = self.discord.env() if self.discord is not None else {"DISCORD_BOT_TOKEN": ""}
        return {**self.telegram.env(), **discord, "CHAT_OPERATORS": f"{OPERATOR},discord:{DISCORD_OPERATOR}",
                "PROMETHEUS_URL": self.prometheus.url,
                "ALERTMANAGER_URL": self.alertmanager.url, "TRADER_URL": self.trader.base_url,
                # The test's Prometheus lists the trader without a name: its `trader` label is its address.
                "CHAT_TRADER": _hostport(self.trader.base_url),
                "TRADER_CONTROL_TOKEN_FILE": str(self.token_file), "CHAT_ACK_CHECK_SECONDS": "1",
                "REPORTS_URL": self.reports_url, "CHAT_HEALTH_PORT": "0",
                **extra}


def _hostport(url: str) -> str:
    return url.split("://", 1)[1]


@contextmanager
def start_chat_stack(workdir: Path, with_discord: bool = False) -> Iterator[ChatStack]:
    with ExitStack() as cleanup:
        config = workdir / "trader.yml"
        workdir.mkdir(parents=True, exist_ok=True)
        config.write_text(BUSY)
        trader = TraderProcess(workdir / "trader", "--feed", "sim", "--seed", "3", "--config", str(config))
        cleanup.callback(trader.stop)
        fakes = cleanup.enter_context(start_receivers())
        rendered = render_config(workdir / "am", fakes.render_env("http://127.0.0.1:9/alert", "relay-token"),
                                 *FAST_TIMING)
        alertmanager = AlertmanagerServer(workdir / "am-run", rendered.config_text, rendered.files)
        cleanup.callback(alertmanager.stop)
        text, files = prometheus_config(_hostport(trader.base_url), _hostport(alertmanager.url), {})
        prometheus = PrometheusServer(workdir / "prometheus", text, files, flags=FAST_RESEND)
        cleanup.callback(prometheus.stop)
        telegram = cleanup.enter_context(TelegramBot())
        token_file = workdir / "trader" / "state" / "control-token"
        discord = cleanup.enter_context(DiscordBot()) if with_discord else None
        # The real reports service on the trader's journal (no channel: it only serves reports).
        reports_port = free_port()
        reports = ManagedProcess("reports", [
            sys.executable, "-m", "reports", "--state-dir", str(workdir / "trader" / "state"),
            "--prometheus", prometheus.url, "--data-dir", str(workdir / "reports"), "--port", str(reports_port)],
            workdir / "reports.log", cwd=REPO_ROOT,
            env={"TELEGRAM_BOT_TOKEN": "", "DISCORD_WEBHOOK_URL": "", "SMTP_SMARTHOST": ""})
        cleanup.callback(reports.stop)
        reports.wait_ready(f"http://127.0.0.1:{reports_port}/healthz")
        stack = ChatStack(workdir, trader, fakes, alertmanager, prometheus, telegram, None, token_file, discord,
                          f"http://127.0.0.1:{reports_port}")
        wait_until(lambda: requests.get(f"{prometheus.url}/api/v1/query", params={"query": "trader_equity_usdt"},
                                        timeout=5).json()["data"]["result"], 60, "the trader's equity in Prometheus")
        stack.chat = ChatProcess(workdir / "chat", stack.chat_env(), telegram, discord)
        cleanup.callback(stack.chat.stop)
        yield stack
