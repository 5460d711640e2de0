"""An exchange account's API key, secret and passphrase, read from the environment at start.

The config names the variables (``api_key_env``...); their values exist only here, in an object
whose ``repr`` and ``str`` show no secret, so no log line, traceback or rendered object can
print one. A variable that is not set stops start-up with one line naming the variable:

    >>> from trader.config import ExchangeAccountConfig
    >>> account = ExchangeAccountConfig("main-binance", "binance", "MY_KEY", "MY_SECRET")
    >>> credentials = resolve_credentials(account, {"MY_KEY": "k-123456", "MY_SECRET": "s-abcdef"})
    >>> credentials
    Credentials(api_key=<redacted>, secret=<redacted>, passphrase=None)
    >>> resolve_credentials(account, {"MY_KEY": "k-123456"})
    Traceback (most recent call last):
    ...
    trader.config.ConfigError: account 'main-binance': environment variable MY_SECRET is not set (expected the API secret of the Binance account there)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from trader.config import ConfigError, ExchangeAccountConfig
from trader.exchanges import exchange

__all__ = ["Credentials", "resolve_credentials"]


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        passphrase = "<redacted>" if self.passphrase else None
        return f"Credentials(api_key=<redacted>, secret=<redacted>, passphrase={passphrase})"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in text (what ``errors.scrub`` removes)."""
        return tuple(v for v in (self.api_key, self.secret, self.passphrase) if v)


def resolve_credentials(account: ExchangeAccountConfig, environ: Mapping[str, str]) -> Credentials:
    """The account's credentials from ``environ``; ConfigError naming the first variable not set."""
    title = exchange(account.exchange).title
    wanted = [(account.api_key_env, "API key"), (account.api_secret_env, "API secret")]
    if account.api_passphrase_env is not None:
        wanted.append((account.api_passphrase_env, "API passphrase"))
    values = []
    for variable, what in wanted:
        value = (environ.get(variable) or "").strip()
        if not value:
            raise ConfigError(f"account {account.name!r}: environment variable {variable} is not set "
                              f"(expected the {what} of the {title} account there)")
        values.append(value)
    return Credentials(*values)
