"""Every failure an exchange account's API can throw, against the stand-ins: a bounded reason label,
a backoff of at least the poll interval, the figures going stale (and the staleness figure
showing it), never a crash, never a tight loop, and recovery when the exchange answers again.

Most cases drive ``watcher.cycle()`` directly: the delay it asks for is the decision under test,
and no test waits for it. The timing cases run the watcher's own loop and read, at the
stand-in, when each request arrived: nothing inside a Retry-After window, nothing faster than the
poll interval under a persistent failure.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.exchange_accounts.harness import run_closing, FAST, make_watcher, standin
from tests.exchange_accounts.standin import requests_between
from trader.vocabulary import API_ERROR_REASONS

BINANCE_451 = {"code": 0, "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in "
               "https://www.binance.com/en/terms. Please contact customer service if you believe you received this "
               "message in error."}
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"

# (exchange, path the fault answers, the fault, the reason it must be counted under, the endpoint label)
CASES = [
    ("binance", "/fapi/v3/account", dict(status=401, body={"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}), "auth", "account"),
    ("binance", "/fapi/v3/account", dict(status=403, raw=b"<html>403 Forbidden</html>"), "region", "account"),
    ("binance", "/fapi/v3/account", dict(status=451, body=BINANCE_451), "region", "account"),
    ("binance", "/fapi/v3/account", dict(status=429, body={"code": -1003, "msg": "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute."}, headers={"Retry-After": "1"}), "rate_limited", "account"),
    ("binance", "/fapi/v3/account", dict(status=418, body={"code": -1003, "msg": "Way too many requests; IP(127.0.0.1) banned until 1796197000000."}, headers={"Retry-After": "1"}), "rate_limited", "account"),
    ("binance", "/fapi/v3/positionRisk", dict(status=502, raw=HTML_502), "server", "positions"),
    ("binance", "/fapi/v3/account", dict(status=503, body={"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}), "server", "account"),
    ("binance", "/fapi/v3/account", dict(delay=0.8), "timeout", "account"),
    ("binance", "/fapi/v3/account", dict(raw=b"{\"totalMarginBalance\": "), "malformed", "account"),
    ("binance", "/fapi/v3/account", dict(body={"totalWalletBalance": "1.0"}), "malformed", "account"),
    ("binance", "/fapi/v3/account", dict(drop=True), "network", "account"),
    ("bybit", "/v5/account/wallet-balance", dict(status=401, body={"retCode": 10003, "retMsg": "API key is invalid.", "result": {}, "retExtInfo": {}, "time": 1}), "auth", "wallet_balance"),
    ("bybit", "/v5/position/list", dict(status=403, raw=b"<HTML><BODY>403 ERROR The request could not be satisfied. CloudFront</BODY></HTML>"), "region", "positions"),
    ("bybit", "/v5/account/wallet-balance", dict(body={"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 1}), "rate_limited", "wallet_balance"),
    ("bybit", "/v5/account/wallet-balance", dict(status=500, body={"retCode": 10016, "retMsg": "Internal system error.", "result": {}, "retExtInfo": {}, "time": 1}), "server", "wallet_balance"),
    ("bybit", "/v5/position/list", dict(delay=0.8), "timeout", "positions"),
    ("bybit", "/v5/position/list", dict(raw=HTML_502), "malformed", "positions"),
    ("bybit", "/v5/position/list", dict(body={"retCode": 0, "retMsg": "OK", "result": {"category": "linear"}}), "malformed", "positions"),
    ("okx", "/api/v5/account/balance", dict(status=401, body={"msg": "Invalid OK-ACCESS-KEY", "code": "50111"}), "auth", "balance"),
    ("okx", "/api/v5/account/balance", dict(status=429, body={"msg": "Too Many Requests", "code": "50011"}), "rate_limited", "balance"),
    ("okx", "/api/v5/account/positions", dict(status=403, body={"msg": "Service is not available in your country or region", "code": "51155"}), "region", "positions"),
    ("okx", "/api/v5/account/balance", dict(status=503, body={"msg": "Service temporarily unavailable. Please try again later.", "code": "50001"}), "server", "balance"),
    ("okx", "/api/v5/account/balance", dict(delay=0.8), "timeout", "balance"),
    ("okx", "/api/v5/account/positions", dict(body={"code": "0", "msg": "", "data": [{"instId": "BTC-USDT-SWAP"}]}), "malformed", "positions"),
]


def _watcher(name, server, **overrides):
    """A watcher whose backoff jitter is seeded, reading balance and positions only (the history
    read, Binance's income at weight 30, would only slow these cases down)."""
    overrides.setdefault("timeout_seconds", 0.5)
    watcher, stats = make_watcher(name, server, rng=random.Random(7), **overrides)
    watcher._next_history = float("inf")
    return watcher, stats


@pytest.mark.parametrize("name, path, fault, reason, endpoint", CASES,
                         ids=[f"{c[0]}-{c[3]}-{c[2].get('status', 'delay' if 'delay' in c[2] else 'body')}" for c in CASES])
def test_a_failure_backs_off_counts_its_reason_goes_stale_and_recovers(name, path, fault, reason, endpoint):
    poll = FAST[name]["poll_seconds"]
    with standin(name) as server:
        watcher, stats = _watcher(name, server)

        async def story():
            assert await watcher.cycle() == poll  # healthy: verified, read
            good = watcher.watch_snapshot(time.time()).last_success_ts
            # aiohttp retries a GET once when a kept-alive connection is dropped: two drops a cycle.
            server.fail(path, times=6 if fault.get("drop") else 3, **fault)
            delays = [await watcher.cycle() for _ in range(3)]
            during = watcher.watch_snapshot(time.time())
            recovered = await watcher.cycle()
            return good, delays, during, recovered, watcher.watch_snapshot(time.time())

        good, delays, during, recovered, after = run_closing(watcher, story)
    errors = stats.errors_snapshot()
    assert errors[(name, endpoint, reason)] == 3, {k: v for k, v in errors.items() if v}
    assert sum(errors.values()) == 3  # one failure, one error: nothing counted twice
    assert set(k[2] for k in errors) == set(API_ERROR_REASONS)
    # Backoff: never sooner than the poll interval, growing (jitter is seeded), bounded.
    assert all(delay >= poll for delay in delays) and max(delays) > poll and max(delays) <= 300
    if "Retry-After" in fault.get("headers", {}):
        assert min(delays) >= float(fault["headers"]["Retry-After"])
    # Stale while it fails: the last success stays where it was, the state says why.
    assert (during.state, during.last_error, during.last_success_ts) == ("backoff", reason, good)
    # And back when the exchange answers (OKX counts its own requests against its limits: cycles
    # run back to back here stretch its next poll a little).
    assert poll <= recovered < 2 * poll and (after.state, after.last_error) == ("watching", None)
    assert after.last_success_ts > good


@pytest.mark.parametrize("name, time_endpoint", [("binance", "/fapi/v1/time"), ("bybit", "/v5/market/time"),
                                                 ("okx", "/api/v5/public/time")])
def test_a_skewed_clock_is_resynced_and_the_request_retried_once(name, time_endpoint):
    with standin(name) as server:
        server.skew_ms = -45_000  # the exchange's clock is 45 s behind ours: every signature is "from the future"
        watcher, stats = _watcher(name, server)

        async def story():
            return await watcher.cycle(), await watcher.cycle()

        delays = run_closing(watcher, story)
    assert delays == (FAST[name]["poll_seconds"],) * 2  # both cycles read the account
    assert len(server.requests_to(time_endpoint)) == 1  # resynced once, then signed on the exchange's clock
    timestamp_errors = {k: v for k, v in stats.errors_snapshot().items() if v}
    assert list(timestamp_errors.values()) == [1] and next(iter(timestamp_errors))[2] == "timestamp"
    assert server.auth_failures == ["timestamp"]
    assert watcher.status == "watching"


@pytest.mark.parametrize("name", ["binance", "bybit", "okx"])
def test_a_revoked_key_backs_off_and_a_restored_one_is_read_again(name):
    with standin(name) as server:
        watcher, stats = _watcher(name, server)

        async def story():
            await watcher.cycle()
            server.api_key = "revoked"  # the user deleted the key on the exchange
            failed = [await watcher.cycle() for _ in range(2)]
            server.api_key = watcher.api._secrets[0]
            return failed, await watcher.cycle()

        failed, recovered = run_closing(watcher, story)
    assert all(delay >= FAST[name]["poll_seconds"] for delay in failed) and watcher.last_error is None
    assert sum(v for k, v in stats.errors_snapshot().items() if k[2] == "auth") == 2
    assert recovered == FAST[name]["poll_seconds"]


def test_network_loss_backs_off_and_reconnects():
    with standin("bybit") as server:
        watcher, stats = _watcher("bybit", server)

        async def story():
            await watcher.cycle()
            server.go_down()
            failed = [await watcher.cycle() for _ in range(3)]
            stale = watcher.watch_snapshot(time.time())
            server.come_back()
            return failed, stale, await watcher.cycle()

        failed, stale, recovered = run_closing(watcher, story)
    assert all(delay >= 0.2 for delay in failed) and max(failed) > 0.2
    assert (stale.state, stale.last_error) == ("backoff", "network")
    assert sum(v for k, v in stats.errors_snapshot().items() if k[2] == "network") == 3
    assert recovered == 0.2 and watcher.status == "watching"


async def _run(watcher, seconds: float) -> bool:
    """Run the watcher's own loop for ``seconds``; whether it ended by itself (it must not)."""
    task = asyncio.create_task(watcher.run())
    await asyncio.sleep(seconds)  # the loop under test sleeps its own delays; this only bounds the run
    ended = task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return ended


@pytest.mark.parametrize("name, path, headers, wait", [
    ("binance", "/fapi/v3/account", {"Retry-After": "2"}, 2.0),
    ("bybit", "/v5/account/wallet-balance", None, 1.5),
])
def test_a_rate_limit_is_honoured_no_request_inside_the_window(name, path, headers, wait):
    with standin(name) as server:
        watcher, stats = _watcher(name, server)
        if name == "bybit":  # Bybit says when its limit resets, in ms, with retCode 10006
            fault = dict(body={"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 1})
        else:
            fault = dict(status=429, body={"code": -1003, "msg": "Too many requests."})

        async def story():
            assert await watcher.cycle() is not None
            reset = {"X-Bapi-Limit-Reset-Timestamp": str(int((time.time() + wait + 0.2) * 1000)),
                     "X-Bapi-Limit": "50", "X-Bapi-Limit-Status": "0"}
            server.fail(path, headers=headers or reset, **fault)
            return await _run(watcher, wait + 2.5)

        assert run_closing(watcher, story) is False  # never ended: no crash
    [refused] = [r for r in server.requests_to(path)][1:2]
    inside = requests_between(server.requests, refused.at + 0.001, refused.at + wait - 0.05)
    assert inside == [], [r.path for r in inside]
    after = requests_between(server.requests, refused.at + wait - 0.05, refused.at + wait + 2.5)
    assert after and watcher.status == "watching"  # and it reads again once the window is over
    assert stats.errors_snapshot()[(name, "account" if name == "binance" else "wallet_balance", "rate_limited")] == 1


def test_a_persistent_failure_is_never_a_tight_loop():
    with standin("bybit") as server:
        watcher, stats = _watcher("bybit", server)
        server.fail("*", status=502, raw=HTML_502, times=10_000)

        async def story():
            return await _run(watcher, 4.0)

        assert run_closing(watcher, story) is False
    times = [r.at for r in server.requests]
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Each cycle stops at its first failure: one request per cycle, never closer than the 0.2 s poll,
    # and the backoff thins them out: far fewer than the 20 polls 4 s would hold.
    assert gaps and min(gaps) >= 0.19 and len(times) <= 10, (len(times), gaps)
    assert watcher.status == "backoff" and watcher.last_success is None
    assert watcher.watch_snapshot(time.time()).last_success_ts == watcher.state.started_at  # stale since start


def test_a_busy_rate_limit_stretches_the_poll_interval():
    with standin("binance") as server:
        server.other_weight = 2_000  # another bot on the same IP uses most of the 2,400 weight/min
        watcher, _ = _watcher("binance", server)

        async def story():
            return await watcher.cycle()

        delay = run_closing(watcher, story)
    assert watcher.rate_limit_usage > 0.8
    assert delay == pytest.approx(1.0 * watcher.rate_limit_usage / 0.5)
