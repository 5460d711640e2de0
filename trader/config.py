"""The trader's configuration: YAML read once at start into frozen, typed dataclasses.

Every key has a default, so an empty file (or no file) gives a working paper trader: live
Binance data, one account "main" of 10,000 USDT running both strategies. A key the schema does
not know, a value of the wrong type or out of range stops start-up with one ``ConfigError``
line naming the key, the value and what was expected::

    >>> load_config_text("paper: {taker_fee_ratio: -1}")
    Traceback (most recent call last):
    ...
    trader.config.ConfigError: config: paper.taker_fee_ratio = -1: expected a number >= 0 and < 0.01

The documented default file is ``trader/config.example.yml``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from trader.vocabulary import EXCHANGES, FeedKind

__all__ = [
    "ConfigError", "FeedConfig", "PaperConfig", "RiskConfig", "LimitsConfig", "StrategyConfig",
    "AccountConfig", "ExchangeAccountConfig", "DrillConfig", "AlertConditionsConfig", "MetricsConfig", "JournalConfig",
    "Config", "load_config", "load_config_text", "DEFAULT_SYMBOLS", "check_trader_name",
]

# Liquid USDT-margined perpetuals, most liquid first; ``--symbols N`` takes the first N.
DEFAULT_STATE_DIR = "state"  # the journal's directory, relative to the working directory
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "LINKUSDT")


class ConfigError(ValueError):
    """A bad configuration value; ``str()`` is the one line shown to the user."""


def _check(**rules: Any) -> dict[str, Any]:
    """Field metadata: ``gt``/``ge``/``le``/``lt`` bounds, ``choices`` for strings, ``nonempty``."""
    return {"check": rules}


@dataclass(frozen=True)
class FeedConfig:
    kind: FeedKind = "live"
    exchanges: tuple[str, ...] = field(default=("binance",), metadata=_check(choices=EXCHANGES, nonempty=True))
    symbols: tuple[str, ...] = field(default=DEFAULT_SYMBOLS[:3], metadata=_check(nonempty=True))
    replay_path: str | None = None
    # Replay pacing: 1.0 = the recording's own pace; None = as fast as possible ("max").
    speed: float | None = field(default=1.0, metadata=_check(gt=0))
    seed: int = 0
    sim_updates_per_second: float = field(default=4.0, metadata=_check(gt=0, le=20))  # sim: quotes per symbol


@dataclass(frozen=True)
class PaperConfig:
    """The paper broker's simulated exchange (source document 004's paper_trading_config)."""

    maker_fee_ratio: float = field(default=0.0002, metadata=_check(ge=0, lt=0.01))  # 0.02 %
    taker_fee_ratio: float = field(default=0.0005, metadata=_check(ge=0, lt=0.01))  # 0.05 %
    # Extra adverse slippage on top of walking the book: fixed = base; linear = base * q;
    # sqrt = base * sqrt(q); q = order quantity / quantity at the touch, capped at 10.
    slippage_model: Literal["linear", "sqrt", "fixed"] = "linear"
    base_slippage_ratio: float = field(default=0.0005, metadata=_check(ge=0, lt=0.1))  # 5 bps
    min_latency_ms: float = field(default=10.0, metadata=_check(ge=0))
    max_latency_ms: float = field(default=100.0, metadata=_check(ge=0))
    partial_fill_probability: float = field(default=0.1, metadata=_check(ge=0, le=1))
    reject_probability: float = field(default=0.01, metadata=_check(ge=0, le=1))
    # Maintenance margin of the isolated position, as a fraction of its notional.
    maintenance_margin_ratio: float = field(default=0.005, metadata=_check(ge=0, lt=0.5))


@dataclass(frozen=True)
class RiskConfig:
    """How equity is sampled for VaR, CVaR and correlation (see trader/risk.py); Sharpe and Sortino
    read daily returns instead (``risk.daily_sharpe``)."""

    sample_interval_seconds: float = field(default=10.0, metadata=_check(gt=0))
    min_samples: int = field(default=30, metadata=_check(ge=3))  # returns needed before a figure exists
    window_days: float = field(default=30.0, metadata=_check(gt=0))
    confidence: float = field(default=0.99, metadata=_check(gt=0.5, lt=1))
    correlation_min_returns: int = field(default=10, metadata=_check(ge=3))


@dataclass(frozen=True)
class LimitsConfig:
    """Hard limits that gate new orders; reduce-only exits always pass."""

    max_drawdown_ratio: float = field(default=0.15, metadata=_check(gt=0, le=1))  # source document 000: halt at 15 %
    daily_loss_ratio: float = field(default=0.05, metadata=_check(gt=0, le=1))  # source document 000: -5 % of equity
    var_usdt: float = field(default=2000.0, metadata=_check(gt=0))
    max_leverage: float = field(default=5.0, metadata=_check(gt=0))
    max_position_usdt: float = field(default=8000.0, metadata=_check(gt=0))
    max_open_positions: int = field(default=5, metadata=_check(ge=1))


@dataclass(frozen=True)
class StrategyConfig:
    type: Literal["momentum", "mean_reversion"]
    name: str = ""  # defaults to the type
    symbols: tuple[str, ...] = ()  # empty = every symbol of the account
    order_usdt: float = field(default=500.0, metadata=_check(gt=0))
    leverage: float = field(default=3.0, metadata=_check(ge=1, le=125))
    bar_seconds: float = field(default=1.0, metadata=_check(gt=0))  # price sampled once per bar
    lookback_bars: int = field(default=20, metadata=_check(ge=3))
    # momentum: |return over the lookback| in bps; mean reversion: |z-score|.
    entry_threshold: float = field(default=5.0, metadata=_check(gt=0))
    # Exits, sized to the market rather than to the bar: 0.6 % / 0.4 % is about one hour's move of
    # BTC at 60 %/year, several times a round trip's fees and slippage (~10-15 bps), so a trade
    # ends at its stop or take-profit and wins about 60 % of the time on a random walk (the
    # barrier odds 0.6 / (0.4 + 0.6)), not at a timeout that has only paid the fees. Exits tighter
    # than the costs (0.4 % / 0.3 % held 2 minutes) lost 13 trades of 13.
    stop_loss_ratio: float = field(default=0.006, metadata=_check(gt=0, lt=1))
    take_profit_ratio: float = field(default=0.004, metadata=_check(gt=0, lt=1))
    # 45 minutes: room for those exits, and a quarter of an hour under the 1 h position-age alert
    # (trader:position_age_limit:seconds), which is for a position a strategy forgot.
    max_hold_seconds: float = field(default=2700.0, metadata=_check(gt=0))
    entry_timeout_seconds: float = field(default=10.0, metadata=_check(gt=0))  # resting entries canceled after
    # A signal for the other side closes the position at market (true), or the position is left
    # to its stop, take-profit and max hold (false).
    exit_on_reversal: bool = False


def _default_strategies() -> tuple[StrategyConfig, ...]:
    return (StrategyConfig(type="momentum"), StrategyConfig(type="mean_reversion", entry_threshold=1.5))


@dataclass(frozen=True)
class AccountConfig:
    name: str = "main"
    initial_balance_usdt: float = field(default=10_000.0, metadata=_check(gt=0))
    exchanges: tuple[str, ...] = field(default=(), metadata=_check(choices=EXCHANGES))  # empty = the feed's
    symbols: tuple[str, ...] = ()  # empty = the feed's
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    strategies: tuple[StrategyConfig, ...] = field(default_factory=_default_strategies)


@dataclass(frozen=True)
class ExchangeAccountConfig:
    """A real exchange account, watched through read-only API keys (``trader/accounts/``).

    The trader reads it and never trades on it. The keys stay in the environment: this names the
    variables that hold them, so a rendered config or a log line can never show a key.
    """

    name: str
    exchange: str = field(metadata=_check(choices=EXCHANGES))
    api_key_env: str
    api_secret_env: str
    api_passphrase_env: str | None = None  # OKX only: its keys have a passphrase
    # How often equity, margin and positions are read; the exchange's limits set the shortest
    # interval (each adapter's budget, trader/accounts/<exchange>.py).
    poll_seconds: float = field(default=10.0, metadata=_check(gt=0, le=3600))
    # How often fills, funding, fees, transfers and closed positions are read (heavier requests).
    history_seconds: float = field(default=20.0, metadata=_check(gt=0, le=3600))
    timeout_seconds: float = field(default=10.0, metadata=_check(gt=0, le=120))  # one request
    api_url: str | None = None  # a testnet, or a local stand-in in tests; None: the exchange itself


@dataclass(frozen=True)
class DrillConfig:
    """Drill timing; the CLI defaults are the real ones, tests shrink them."""

    delay_seconds: float = field(default=60.0, metadata=_check(ge=0))  # healthy baseline first
    duration_seconds: float = field(default=180.0, metadata=_check(gt=0))  # the condition lasts this long
    crash_drop_ratio: float = field(default=0.35, metadata=_check(gt=0, lt=0.9))
    crash_over_seconds: float = field(default=45.0, metadata=_check(gt=0))
    api_error_probability: float = field(default=0.4, metadata=_check(gt=0, le=1))
    latency_seconds: tuple[float, ...] = field(default=(1.2, 2.0))  # (min, max) round trip under the drill


@dataclass(frozen=True)
class AlertConditionsConfig:
    """The alert thresholds the trader watches for itself (trader/conditions.py), so the time from
    a condition holding to its notification can be measured (benchmarks/alert_latency.py). The
    numbers are the recording rules' in prometheus/rules/risk.yml (a test keeps them equal)."""

    drawdown_ratio: float = field(default=0.10, metadata=_check(gt=0, le=1))  # trader:drawdown_limit:ratio
    liquidation_distance_ratio: float = field(default=0.05, metadata=_check(gt=0, lt=1))  # trader:liquidation_distance_limit:ratio


@dataclass(frozen=True)
class MetricsConfig:
    port: int = field(default=8000, metadata=_check(ge=0, le=65535))
    host: str = "0.0.0.0"


@dataclass(frozen=True)
class JournalConfig:
    """Where the journal lives (trader/journal/, docs/journal.md); ``--state-dir`` overrides."""

    # The directory of journal.sqlite3. Unset: ./state for the live and sim feeds; no journal for a
    # replay or a drill (a recording's history or a staged crash is not the account's own).
    state_dir: str | None = None


@dataclass(frozen=True)
class Config:
    # The trader's name: the `trader` label Prometheus puts on every series and alert of this
    # trader (prometheus/README.md "Several traders"), the journal's owner, a field of the
    # "config loaded" log line.
    # Two traders scraped by one Prometheus need two names.
    name: str = "trader"
    feed: FeedConfig = field(default_factory=FeedConfig)
    paper: PaperConfig = field(default_factory=PaperConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    drill: DrillConfig = field(default_factory=DrillConfig)
    alert_conditions: AlertConditionsConfig = field(default_factory=AlertConditionsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    accounts: tuple[AccountConfig, ...] = field(default_factory=lambda: (AccountConfig(),))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Real accounts watched read-only; BINANCE_API_KEY... in the environment add more
    # (trader/accounts/environment.py).
    exchange_accounts: tuple[ExchangeAccountConfig, ...] = ()

    def account_exchanges(self, account: AccountConfig) -> tuple[str, ...]:
        return account.exchanges or self.feed.exchanges

    def account_symbols(self, account: AccountConfig) -> tuple[str, ...]:
        return account.symbols or self.feed.symbols

    def state_dir(self, drill: str | None = None) -> str | None:
        """The journal's directory, or None for no journal: a replay or a ``drill`` rehearses on
        history or a staged crash, which is not the account's own, unless a directory is given."""
        if self.journal.state_dir is not None:
            return self.journal.state_dir
        return None if self.feed.kind == "replay" or drill is not None else DEFAULT_STATE_DIR


# --- loading ------------------------------------------------------------------------------


def _fail(path: str, value: object, expected: str) -> typing.NoReturn:
    shown = "null" if value is None else repr(value) if isinstance(value, str) else value
    raise ConfigError(f"config: {path} = {shown}: expected {expected}")


def _number(path: str, value: object, kind: type, rules: dict[str, Any]) -> float | int:
    is_bool = isinstance(value, bool)
    if kind is int and (is_bool or not isinstance(value, int)):
        _fail(path, value, "an integer" + _bounds_text(rules))
    if kind is float and (is_bool or not isinstance(value, (int, float))):
        _fail(path, value, "a number" + _bounds_text(rules))
    number = kind(value)
    if number != number:  # NaN
        _fail(path, value, "a number" + _bounds_text(rules))
    for rule, ok in (("gt", lambda b: number > b), ("ge", lambda b: number >= b),
                     ("lt", lambda b: number < b), ("le", lambda b: number <= b)):
        if rule in rules and not ok(rules[rule]):
            _fail(path, value, ("an integer" if kind is int else "a number") + _bounds_text(rules))
    return number


def _bounds_text(rules: dict[str, Any]) -> str:
    signs = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    parts = [f"{signs[r]} {rules[r]}" for r in ("gt", "ge", "lt", "le") if r in rules]
    return (" " + " and ".join(parts)) if parts else ""


def _convert(path: str, value: object, hint: Any, rules: dict[str, Any]) -> object:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(path, value, inner, rules)
    if origin is Literal:
        if value not in args:
            _fail(path, value, "one of " + ", ".join(str(a) for a in args))
        return value
    if origin is tuple:
        item_hint = args[0]
        if not isinstance(value, list):
            _fail(path, value, "a list")
        if rules.get("nonempty") and not value:
            _fail(path, value, "a non-empty list")
        return tuple(_convert(f"{path}[{i}]", item, item_hint, rules) for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if hint is bool:
        if not isinstance(value, bool):
            _fail(path, value, "true or false")
        return value
    if hint in (int, float):
        return _number(path, value, hint, rules)
    if hint is str:
        if not isinstance(value, str) or not value:
            _fail(path, value, "a non-empty string")
        if "choices" in rules and value not in rules["choices"]:
            _fail(path, value, "one of " + ", ".join(rules["choices"]))
        return value
    raise TypeError(f"unsupported config type {hint!r} at {path}")  # a schema bug, not user input


def _build(cls: type, data: object, path: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        _fail(path or "<top level>", data, "a mapping of keys to values")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            shown = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"config: {shown}: unknown key (expected one of {', '.join(fields)})")
    kwargs = {}
    for name, fld in fields.items():
        if name in data:
            kwargs[name] = _convert(f"{path}.{name}" if path else name, data[name], hints[name],
                                    fld.metadata.get("check", {}))
        elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
            _fail(f"{path}.{name}" if path else name, None, "a value (this key is required)")
    return cls(**kwargs)


# A Prometheus label value that is also a compose service name and a file name: short, no spaces.
_TRADER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def check_trader_name(value: str, key: str = "name") -> str:
    if not _TRADER_NAME.fullmatch(value):
        _fail(key, value, "1-63 characters from a-z, 0-9, '_', '.', '-', starting with a letter or digit")
    return value


def _validate(config: Config) -> Config:
    """Rules that span several keys."""
    check_trader_name(config.name)
    if config.paper.max_latency_ms < config.paper.min_latency_ms:
        _fail("paper.max_latency_ms", config.paper.max_latency_ms, f"a number >= paper.min_latency_ms ({config.paper.min_latency_ms})")
    lat = config.drill.latency_seconds
    if len(lat) != 2 or not 0 < lat[0] <= lat[1]:
        _fail("drill.latency_seconds", list(lat), "[min, max] with 0 < min <= max")
    if config.feed.kind == "replay" and not config.feed.replay_path:
        _fail("feed.replay_path", config.feed.replay_path, "a recording file when feed.kind is replay")
    names = [a.name for a in config.accounts]
    if not names and not config.exchange_accounts:
        _fail("accounts", [], "at least one account (a paper account, or an exchange account to watch)")
    for i, account in enumerate(config.accounts):
        if account.name in names[:i]:
            _fail(f"accounts[{i}].name", account.name, "a name no other account uses")
        for exchange in account.exchanges:
            if exchange not in config.feed.exchanges:
                _fail(f"accounts[{i}].exchanges", list(account.exchanges),
                      "exchanges the feed reads (feed.exchanges: " + ", ".join(config.feed.exchanges) + ")")
        for symbol in account.symbols:
            if symbol not in config.feed.symbols:
                _fail(f"accounts[{i}].symbols", list(account.symbols),
                      "symbols the feed reads (feed.symbols: " + ", ".join(config.feed.symbols) + ")")
        strategy_names = [s.name or s.type for s in account.strategies]
        for j, strategy in enumerate(account.strategies):
            if strategy_names.count(strategy.name or strategy.type) > 1:
                _fail(f"accounts[{i}].strategies[{j}].name", strategy.name or strategy.type,
                      "a strategy name unique within the account")
            if strategy.leverage > account.limits.max_leverage:
                _fail(f"accounts[{i}].strategies[{j}].leverage", strategy.leverage,
                      f"a number <= the account's limits.max_leverage ({account.limits.max_leverage})")
    _validate_exchange_accounts(config)
    return config


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?")


def _validate_exchange_accounts(config: Config) -> None:
    from trader.exchanges import exchange  # the registry names the exchanges that have an account adapter

    taken = [a.name for a in config.accounts]
    for i, account in enumerate(config.exchange_accounts):
        where = f"exchange_accounts[{i}]"
        if account.name in taken:
            _fail(f"{where}.name", account.name, "a name no other account (paper or exchange) uses")
        taken.append(account.name)
        entry = exchange(account.exchange)
        if entry.account is None:
            _fail(f"{where}.exchange", account.exchange, "an exchange with an account adapter")
        for key in ("api_key_env", "api_secret_env", "api_passphrase_env"):
            value = getattr(account, key)
            if value is not None and not _ENV_NAME.fullmatch(value):
                # Not echoed: a key pasted here by mistake must not reach a terminal or a log.
                raise ConfigError(f"config: {where}.{key}: expected the NAME of an environment variable "
                                  "(A-Z, 0-9, _), never the key itself (value not shown)")
        if entry.account_needs_passphrase and account.api_passphrase_env is None:
            _fail(f"{where}.api_passphrase_env", None, f"the environment variable holding the {entry.title} API passphrase")
        if not entry.account_needs_passphrase and account.api_passphrase_env is not None:
            _fail(f"{where}.api_passphrase_env", account.api_passphrase_env, f"null ({entry.title} keys have no passphrase)")
        if account.history_seconds < account.poll_seconds:
            _fail(f"{where}.history_seconds", account.history_seconds, f"a number >= poll_seconds ({account.poll_seconds})")
        if account.api_url is not None and not _URL.fullmatch(account.api_url):
            raise ConfigError(f"config: {where}.api_url: expected an http(s) base URL with no query string or "
                              "credentials, e.g. https://testnet.binancefuture.com (value not shown: it may hold a secret)")


def load_config_text(text: str, source: str = "config") -> Config:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config: {source}{where}: expected valid YAML ({getattr(error, 'problem', error)})") from None
    config = _build(Config, data, "")
    accounts = tuple(dataclasses.replace(a, strategies=tuple(
        s if s.name else dataclasses.replace(s, name=s.type) for s in a.strategies)) for a in config.accounts)
    return _validate(dataclasses.replace(config, accounts=accounts))


def load_config(path: str | Path | None) -> Config:
    """Read ``path`` (None: every default)."""
    if path is None:
        return load_config_text("")
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"config: --config = {str(path)!r}: expected a readable YAML file ({error.strerror})") from None
    return load_config_text(text, str(path))


def with_accounts(config: Config, *, accounts: tuple[AccountConfig, ...] | None = None,
                  exchange_accounts: tuple[ExchangeAccountConfig, ...] | None = None) -> Config:
    """The config with its paper or exchange accounts replaced (from the CLI or the environment),
    validated again."""
    changes: dict[str, Any] = {}
    if accounts is not None:
        changes["accounts"] = accounts
    if exchange_accounts is not None:
        changes["exchange_accounts"] = exchange_accounts
    return _validate(dataclasses.replace(config, **changes))


def with_overrides(config: Config, **feed: Any) -> Config:
    """The config with feed keys replaced (from CLI flags), validated again."""
    return _validate(dataclasses.replace(config, feed=dataclasses.replace(config.feed, **feed)))
