"""Keys, secrets, passphrases and signatures never appear anywhere text goes: log lines (at DEBUG,
ccxt's own logger included), error messages and their tracebacks, the bus's ApiRequest events,
the metrics, the watch snapshot, the refusal of a key that can withdraw.

The stand-ins hold canary credentials (tests/exchange_accounts/harness.py); every failure case of
the resilience tests is replayed on every exchange while everything is captured, then searched.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
import traceback

import pytest

from exporters.registry import build_registry_from
from stacklog import configure_logging
from tests.exchange_accounts.binance_standin import CAN_WITHDRAW as BINANCE_WITHDRAW
from tests.exchange_accounts.bybit_standin import CAN_WITHDRAW as BYBIT_WITHDRAW
from tests.exchange_accounts.harness import run_closing, CANARIES, EXCHANGES, make_watcher, standin
from tests.exchange_accounts.okx_standin import CAN_WITHDRAW as OKX_WITHDRAW
from tests.exchange_accounts.test_account_resilience import CASES
from trader.accounts.errors import AccountApiError, KeyRefused
from trader.bus import EventBus
from trader.events import ApiRequest
from trader.snapshot import TraderSnapshot

SIGNATURE = re.compile(r"(signature|sign)=[0-9a-fA-F]{16,}|OK-ACCESS-SIGN|X-BAPI-SIGN:|[A-Za-z0-9+/]{43}=")
WITHDRAW = {"binance": dict(permissions=BINANCE_WITHDRAW), "bybit": dict(permissions=BYBIT_WITHDRAW),
            "okx": dict(perm=OKX_WITHDRAW)}


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def _leaks(text: str) -> list[str]:
    found = [c for c in CANARIES if c in text]
    found += [m.group(0) for m in SIGNATURE.finditer(text)]
    return found


async def _every_failure(name: str, server, texts: list[str]) -> None:
    watcher, stats = make_watcher(name, server, timeout_seconds=0.5)
    events: list[ApiRequest] = []
    stats._bus = EventBus()
    stats._bus.subscribe(ApiRequest, events.append)
    watcher._next_history = 0.0
    try:
        await watcher.cycle()
        for exchange, path, fault, _, _ in CASES:
            if exchange != name:
                continue
            server.fail(path, **fault)
            try:
                await watcher._call(watcher.adapter.read)
            except AccountApiError as error:
                texts.append(str(error))
                texts.append("".join(traceback.format_exception(error)))
                # ccxt's exception (its message holds the signed URL) is not chained to ours.
                assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
            await watcher.cycle()  # the same failure through the loop: logged
        server.api_key = "revoked"
        await watcher.cycle()
        server.skew_ms = -60_000
        server.api_key = CANARIES[0]
        await watcher.cycle()
        server.go_down()
        await watcher.cycle()
        server.come_back()
        watcher._next_history = 0.0
        await watcher.cycle()
    finally:
        await watcher.api.close()
    now = time.time()
    snapshot = TraderSnapshot(ts=now, accounts=tuple(s for s in [watcher.state.snapshot(now)] if s), feeds=(),
                              markets=(), api_requests=stats.snapshot(), api_errors=stats.errors_snapshot(),
                              account_watch=(watcher.watch_snapshot(now),))
    registry = build_registry_from(lambda: snapshot, EventBus(), process_metrics=False)
    texts.append(registry.render(registry.capture(), openmetrics=True))
    texts.append(repr(snapshot))
    texts.extend(f"{e.error}" for e in events)
    assert any(e.error for e in events)  # the events did carry the failures


@pytest.mark.parametrize("name", EXCHANGES)
def test_no_canary_or_signature_in_any_text_across_every_failure(name, captured_logs):
    texts: list[str] = []
    with standin(name) as server:
        asyncio.run(_every_failure(name, server, texts))
        assert len(server.requests) > 20  # the canaries did travel: signed headers, signed queries
    logs = captured_logs.getvalue()
    assert "exchange account read failed" in logs and "clock resynced" in logs
    everything = logs + "\n".join(texts)
    assert not _leaks(everything), _leaks(everything)[:5]


@pytest.mark.parametrize("name", EXCHANGES)
def test_the_refusal_of_a_key_that_can_withdraw_holds_no_secret(name, captured_logs):
    with standin(name, **WITHDRAW[name]) as server:
        watcher, _ = make_watcher(name, server)

        async def verify():
            with pytest.raises(KeyRefused) as refused:
                await watcher.verify()
            asked = len(server.requests)
            assert await watcher.cycle() is None and len(server.requests) == asked  # never asked again
            return str(refused.value)

        message = run_closing(watcher, verify)
    assert "can withdraw" in message and "\n" not in message
    assert not _leaks(message + captured_logs.getvalue())
    assert watcher.status == "refused" and watcher.state.reading is None


def test_a_bug_in_an_adapter_is_logged_with_its_traceback_and_no_secret(captured_logs):
    with standin("bybit") as server:
        watcher, _ = make_watcher("bybit", server)

        async def broken(api):
            reply = await api.get("wallet_balance", {"accountType": "UNIFIED"})
            raise RuntimeError(f"bug while reading {sorted(reply.body)}")

        watcher.adapter.read = broken

        async def story():
            return await watcher.cycle()

        delay = run_closing(watcher, story)
    logs = captured_logs.getvalue()
    assert delay >= 0.2 and "exchange account watch failed" in logs and "RuntimeError: bug while reading" in logs
    assert not _leaks(logs)
