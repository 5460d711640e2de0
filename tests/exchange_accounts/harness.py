"""Watchers on stand-in exchanges: the real adapters and ccxt clients, pointed at 127.0.0.1.

The keys are canaries: the secret-leak tests look for them everywhere text goes.

    with standin("binance") as exchange:
        watcher, stats = make_watcher("binance", exchange)
        asyncio.run(cycles(watcher, 2))
"""

from __future__ import annotations

import asyncio

from tests.exchange_accounts.binance_standin import BinanceStandin
from tests.exchange_accounts.bybit_standin import BybitStandin
from tests.exchange_accounts.okx_standin import OkxStandin
from trader.accounts import build_watchers
from trader.api_stats import ApiStats
from trader.config import Config, ExchangeAccountConfig

__all__ = ["KEY", "SECRET", "PASSPHRASE", "CANARIES", "ENVIRON", "EXCHANGES", "FAST", "standin", "account_config",
           "make_watcher", "cycles", "run_closing", "watch_only_args"]

KEY = "CANARYKEY7f3a9b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"
SECRET = "CANARYSECRETe1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a49382716"
PASSPHRASE = "CANARYPASSPHRASE-Zq8#"
CANARIES = (KEY, SECRET, PASSPHRASE)
ENVIRON = {"ACCOUNT_KEY": KEY, "ACCOUNT_SECRET": SECRET, "ACCOUNT_PASSPHRASE": PASSPHRASE}
EXCHANGES = ("binance", "bybit", "okx")
# The shortest intervals each exchange's budget allows (the config refuses shorter): tests run fast.
FAST = {"binance": dict(poll_seconds=1.0, history_seconds=5.0), "bybit": dict(poll_seconds=0.2, history_seconds=1.0),
        "okx": dict(poll_seconds=0.5, history_seconds=1.0)}


def standin(exchange: str, **options):
    if exchange == "binance":
        return BinanceStandin(KEY, SECRET, **options)
    if exchange == "bybit":
        return BybitStandin(KEY, SECRET, **options)
    return OkxStandin(KEY, SECRET, PASSPHRASE, **options)


def account_config(exchange: str, url: str, **overrides) -> ExchangeAccountConfig:
    fields = dict(name=f"{exchange}-main", exchange=exchange, api_key_env="ACCOUNT_KEY",
                  api_secret_env="ACCOUNT_SECRET", api_passphrase_env="ACCOUNT_PASSPHRASE" if exchange == "okx" else None,
                  api_url=url, timeout_seconds=2.0, **FAST[exchange])
    fields.update(overrides)
    return ExchangeAccountConfig(**fields)


def make_watcher(exchange: str, server, environ=None, rng=None, throttle=False, **overrides):
    """One watcher on ``server`` (a stand-in) and the ApiStats it counts into; ``rng`` seeds its
    backoff's jitter. ccxt's own client-side throttle (on in production: it spaces requests by
    their weight) is off unless ``throttle``: the stand-ins impose no limit, and it would only make
    each case wait."""
    stats = ApiStats()
    config = Config(accounts=(), exchange_accounts=(account_config(exchange, server.url, **overrides),))
    [watcher] = build_watchers(config, stats, environ=ENVIRON if environ is None else environ)
    if rng is not None:
        watcher._backoff._rng = rng
    watcher.api._ReadOnlyClient__client.enableRateLimit = throttle
    return watcher, stats


async def cycles(watcher, count: int, history: bool = True) -> list:
    """Run ``count`` poll cycles back to back (history read every time if ``history``); the delays
    the watcher asked for."""
    delays = []
    try:
        for _ in range(count):
            if history:
                watcher._next_history = 0.0
            delays.append(await watcher.cycle())
    finally:
        await watcher.api.close()
    return delays


def run_closing(watcher, story):
    """``asyncio.run(story())``, the watcher's HTTP session closed after, whatever happens."""
    async def main():
        try:
            return await story()
        finally:
            await watcher.api.close()

    return asyncio.run(main())


def watch_only_args(tmp_path, server, monkeypatch) -> tuple[str, ...]:
    """The ``python -m trader`` arguments of a pure watcher of the Binance stand-in ``server`` (an
    account named ``binance``), its keys set in the environment the child process inherits."""
    config = tmp_path / "watch.yml"
    config.write_text(f"""
exchange_accounts:
  - {{name: binance, exchange: binance, api_key_env: ACCOUNT_KEY, api_secret_env: ACCOUNT_SECRET,
      poll_seconds: 1, history_seconds: 5, api_url: "{server.url}"}}
""")
    for variable, value in ENVIRON.items():
        monkeypatch.setenv(variable, value)
    return "--feed", "sim", "--watch-only", "--config", str(config)
