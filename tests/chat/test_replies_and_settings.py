"""The chat's pieces without the stack: pagination within each channel's limit, the Markdown a
Discord message gets, refusals once per window, the token redaction, the start-up line."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import subprocess
import sys

from hypothesis import given, settings, strategies as st

from chat.commands import Asker, Brain, REFUSAL_WINDOW_SECONDS
from chat.discord_bot import CONTENT_LIMIT, to_markdown
from chat.replies import Reply, e, pages, utf16_len
from chat.service import Redactor
from chat.settings import load_settings
from chat.telegram import MESSAGE_LIMIT
from stacklog import JsonFormatter
from tests.alertmanager.am_fakes import telegram_html_problems
from tests.support.trader import REPO_ROOT

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000)


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=80), lines=st.lists(_text, max_size=40))
def test_every_page_fits_telegram_and_discord_and_stays_valid_html(title, lines):
    reply = Reply(title, tuple(f"<b>{e(line[:20])}</b> {e(line)}" for line in lines))
    for page in pages(reply, MESSAGE_LIMIT):
        assert utf16_len(page) <= MESSAGE_LIMIT
        assert telegram_html_problems(page) == []
    for page in pages(reply, CONTENT_LIMIT):
        assert len(to_markdown(page)) <= CONTENT_LIMIT


def test_long_replies_are_split_in_order_with_page_numbers():
    reply = Reply("Positions of main", tuple(f"line {i:04d} " + "x" * 100 for i in range(200)))
    texts = pages(reply, MESSAGE_LIMIT)
    assert len(texts) > 1 and texts[1].startswith(f"<b>Positions of main</b> (2/{len(texts)})")
    numbers = [line.split()[1] for text in texts for line in text.splitlines()[1:]]
    assert numbers == [f"{i:04d}" for i in range(200)]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_refusal_is_given_once_per_window_then_again(caplog):
    asyncio.run(_refusals(caplog))


async def _refusals(caplog):
    settings_ = load_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "-100", "CHAT_OPERATORS": "7"})
    clock = _Clock()
    brain = Brain(settings_, None, None, None, None, clock=clock)
    viewer = Asker("telegram", 8, -100)
    with caplog.at_level(logging.WARNING, logger="chat.commands"):
        first = await brain.command(viewer, "pause", [])
        flood = [await brain.command(viewer, "closeall", []) for _ in range(20)]
        clock.now += REFUSAL_WINDOW_SECONDS + 1
        later = await brain.command(viewer, "ack", ["X"])
    assert first[0].refusal and "operators" in first[0].lines[0]
    assert flood == [[]] * 20
    assert later[0].refusal
    assert len([r for r in caplog.records if r.getMessage() == "command refused"]) == 2
    stranger = await brain.command(Asker("telegram", 7, -555), "status", [])
    assert "configured chats" in stranger[0].lines[0]


def test_tokens_are_redacted_from_log_lines_and_tracebacks():
    token = "123456:SECRET-token-value"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redactor((token,)))
    log = logging.getLogger("chat.test.redaction")
    log.addHandler(handler)
    try:
        log.warning("request to https://api.telegram.org/bot%s/getUpdates failed", token, extra={"url": f"/bot{token}/x"})
        try:
            raise RuntimeError(f"boom at /bot{token}/sendMessage")
        except RuntimeError:
            log.exception("handler failed")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert token not in out and out.count("<redacted>") >= 3


def test_no_token_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "chat"], capture_output=True, text=True, cwd=REPO_ROOT,
                            env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "TELEGRAM_BOT_TOKEN" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "chat"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "general"})
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "chat: TELEGRAM_CHAT_ID = 'general': expected numeric ids, comma-separated")


class _Trader:
    """The control API's answers for a halted account (exporters/control_api.py's shapes)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        self.posts.append((path, body))
        if not body.get("confirm"):
            return 409, {"error": "account 'main' is halted by its max drawdown limit (drawdown 12.0%); resume with "
                                  "confirm to lift the halt", "needs_confirmation": True, "halt_reason": "max_drawdown"}
        return 200, {"account": "main", "paused": False, "halted": False, "lifted": ["max_drawdown"]}


def test_resume_of_a_halted_account_asks_first_and_the_button_confirms():
    settings_ = load_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "-100", "CHAT_OPERATORS": "7"})
    trader = _Trader()
    brain = Brain(settings_, None, None, trader, None)
    operator = Asker("telegram", 7, -100)
    asked = asyncio.run(brain.command(operator, "resume", []))[0]
    assert asked.title == "Confirm resume" and "halted by its max drawdown limit" in asked.lines[0]
    assert [(b.label, b.data) for b in asked.buttons] == [("Lift the halt and resume", "resume!:main")]
    assert trader.posts == [("accounts/main/resume", {"actor": "chat:telegram:7", "confirm": False})]
    done = asyncio.run(brain.button(operator, asked.buttons[0].data))[0]
    assert done.title == "main resumed" and "halt lifted (max_drawdown)" in done.lines[0]
    assert trader.posts[-1] == ("accounts/main/resume", {"actor": "chat:telegram:7", "confirm": True})
    # seed 002's /stop is the pause
    assert asyncio.run(brain.command(Asker("telegram", 8, -100), "stop", []))[0].refusal


def test_a_dependency_that_is_down_is_one_line_naming_it(tmp_path):
    from chat.clients import Alertmanager, Http, Prometheus, Reports, TraderControl
    from tests.support.ports import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    token = tmp_path / "control-token"
    token.write_text("t" * 43)
    settings_ = load_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "-100", "CHAT_OPERATORS": "7"})

    async def ask_all() -> dict[str, Reply]:
        http = Http()
        brain = Brain(settings_, Prometheus(http, dead), Alertmanager(http, dead), TraderControl(http, dead, str(token)),
                      Reports(http, dead))
        asker = Asker("telegram", 7, -100)
        try:
            return {name: (await brain.command(asker, name, []))[0]
                    for name in ("status", "alerts", "positions", "pause", "report")}
        finally:
            await http.close()

    replies = asyncio.run(ask_all())
    expected = {"status": "Prometheus", "alerts": "Alertmanager", "positions": "the trader", "pause": "the trader",
                "report": "the reports service"}
    for command, who in expected.items():
        reply = replies[command]
        assert reply.title == "Unavailable" and len(reply.lines) == 1, command
        assert reply.lines[0].startswith(f"{who} is unreachable"), (command, reply.lines)
        assert dead not in reply.lines[0]  # which service, not where: no URL in a chat


def test_figures_of_another_trader_on_the_same_prometheus_never_reach_the_reply():
    """Two traders both name their account ``main`` (prometheus/README.md "Several traders"):
    the chat of trader ``alpha`` reads alpha's equity, not whichever series came last."""
    from aiohttp import web

    from chat.clients import Http, Prometheus

    async def query(request: web.Request) -> web.Response:
        # Shaped as https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "trader_equity_usdt", "trader": "alpha", "account": "main"},
             "value": [1700000000.0, "10500"]},
            {"metric": {"__name__": "trader_equity_usdt", "trader": "beta", "account": "main"},
             "value": [1700000000.0, "7200"]},
        ]}})

    async def scenario() -> tuple[dict, dict]:
        app = web.Application()
        app.router.add_get("/api/v1/query", query)
        runner = web.AppRunner(app)
        await runner.setup()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        await web.SockSite(runner, listener).start()
        http = Http()
        try:
            url = f"http://127.0.0.1:{port}"
            return (await Prometheus(http, url, "alpha").one("trader_equity_usdt"),
                    await Prometheus(http, url, "beta").one("trader_equity_usdt"))
        finally:
            await http.close()
            await runner.cleanup()

    alpha, beta = asyncio.run(scenario())
    assert alpha == {"main": 10500.0}
    assert beta == {"main": 7200.0}
