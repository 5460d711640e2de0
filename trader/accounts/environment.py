"""Exchange accounts from the environment alone: what compose's ``.env`` gives, nothing to configure.

For each exchange with an account adapter, ``<EXCHANGE>_API_KEY`` and ``<EXCHANGE>_API_SECRET``
(and ``OKX_API_PASSPHRASE`` for OKX) add an account named after the exchange; the optional
``<EXCHANGE>_API_URL`` points it at a testnet. An empty variable counts as not set (compose
passes ``${BINANCE_API_KEY:-}``). An account of that name in the config file wins. Half a set
(a key without its secret) is a mistake that stops start-up, in one line naming the variables:

    >>> accounts = environment_accounts({"BYBIT_API_KEY": "k-1", "BYBIT_API_SECRET": "s-1", "BINANCE_API_KEY": ""})
    >>> [(a.name, a.exchange, a.api_key_env, a.api_secret_env) for a in accounts]
    [('bybit', 'bybit', 'BYBIT_API_KEY', 'BYBIT_API_SECRET')]
    >>> environment_accounts({"OKX_API_KEY": "k-1", "OKX_API_SECRET": "s-1"})
    Traceback (most recent call last):
    ...
    trader.config.ConfigError: environment: OKX_API_KEY is set but OKX_API_PASSPHRASE is not (the OKX account needs OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE)
"""

from __future__ import annotations

from typing import Iterable, Mapping

from trader.config import ConfigError, ExchangeAccountConfig
from trader.exchanges import REGISTRY

__all__ = ["environment_accounts", "variables_of"]


def variables_of(name: str, needs_passphrase: bool) -> tuple[str, ...]:
    """The credential variables of exchange ``name``, in the order a user sets them."""
    prefix = name.upper()
    names = (f"{prefix}_API_KEY", f"{prefix}_API_SECRET")
    return names + ((f"{prefix}_API_PASSPHRASE",) if needs_passphrase else ())


def environment_accounts(environ: Mapping[str, str], configured: Iterable[str] = ()) -> tuple[ExchangeAccountConfig, ...]:
    """The accounts ``environ`` asks for, leaving out names already ``configured``."""
    taken = set(configured)
    accounts = []
    for entry in REGISTRY:
        if entry.account is None:
            continue
        variables = variables_of(entry.name, entry.account_needs_passphrase)
        present = [v for v in variables if (environ.get(v) or "").strip()]
        if not present:
            continue
        missing = [v for v in variables if v not in present]
        if missing:
            listed = ", ".join(variables[:-1]) + " and " + variables[-1]
            raise ConfigError(f"environment: {present[0]} is set but {missing[0]} is not "
                              f"(the {entry.title} account needs {listed})")
        if entry.name in taken:
            continue
        url = (environ.get(f"{entry.name.upper()}_API_URL") or "").strip() or None
        accounts.append(ExchangeAccountConfig(
            name=entry.name, exchange=entry.name, api_key_env=variables[0], api_secret_env=variables[1],
            api_passphrase_env=variables[2] if entry.account_needs_passphrase else None, api_url=url))
    return tuple(accounts)
