"""Exchange accounts: real accounts on Binance, Bybit and OKX, watched through read-only API keys.

Beside the paper accounts, the trader can watch a user's own futures account and export it under
the same metric names, so every rule, alert, dashboard and report works for it unchanged. It
never trades on it: there is no code path that places, changes or cancels an order (see
``readonly.py``), and a key that can withdraw is refused.

| module | responsibility |
|---|---|
| ``readonly.py`` | ``ReadOnlyClient``: the ccxt client behind an allow-list of GET endpoints |
| ``adapter.py`` | what each exchange adapter implements; safe parsing of wire fields |
| ``binance.py``, ``bybit.py``, ``okx.py`` | one adapter per exchange: endpoints, fields, error codes, budgets |
| ``watcher.py`` | ``AccountWatcher``: the poll loop, backoff, Retry-After, clock resync |
| ``state.py`` | ``ExchangeAccountState``: high-water mark, day start, what was counted; the journal's seam |
| ``roundtrips.py`` | closed trades rebuilt from fills (Binance keeps no position history) |
| ``model.py`` | the readings adapters return, in the trader's terms |
| ``errors.py`` | bounded failure reasons and secret-free error text |
| ``credentials.py``, ``environment.py`` | keys from the environment; accounts from ``BINANCE_API_KEY``... |

``build_watchers(config, api_stats)`` makes one ``AccountWatcher`` per configured exchange account
(``Trader`` calls it), refusing with one ``ConfigError`` line a variable that is not set or a
poll interval that would use more than half of the exchange's rate limit.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Mapping

from trader.api_stats import ApiStats
from trader.config import Config, ConfigError, ExchangeAccountConfig
from trader.exchanges import exchange

__all__ = ["build_watchers", "check_budget"]


def check_budget(account: ExchangeAccountConfig, adapter) -> None:
    """ConfigError when ``account``'s intervals would use too much of the exchange's rate limit."""
    from trader.accounts.adapter import MAX_BUDGET_SHARE

    share = adapter.budget_share(account.poll_seconds, account.history_seconds)
    if share > MAX_BUDGET_SHARE:
        raise ConfigError(
            f"account {account.name!r}: poll_seconds {account.poll_seconds:g} with history_seconds "
            f"{account.history_seconds:g} would use {share:.0%} of {adapter.title}'s API rate limit: expected at "
            f"most {MAX_BUDGET_SHARE:.0%} (poll or read the history less often)")


def build_watchers(config: Config, api_stats: ApiStats, clock: Callable[[], float] = time.time,
                   environ: Mapping[str, str] | None = None) -> list:
    """One watcher per exchange account of ``config``, its keys read from ``environ``."""
    if not config.exchange_accounts:
        return []
    from trader.accounts.credentials import resolve_credentials
    from trader.accounts.readonly import ReadOnlyClient
    from trader.accounts.watcher import AccountWatcher

    environ = os.environ if environ is None else environ
    watchers = []
    for account in config.exchange_accounts:
        adapter = exchange(account.exchange).account_class()()
        check_budget(account, adapter)
        credentials = resolve_credentials(account, environ)
        client = adapter.make_client(credentials, account.api_url, account.timeout_seconds)
        api = ReadOnlyClient(account.exchange, client, adapter.reads, credentials.secrets(), adapter)
        watchers.append(AccountWatcher(account, adapter, api, api_stats, clock))
    return watchers
