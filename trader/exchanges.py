"""One registration per exchange: everything else that lists exchanges reads ``REGISTRY``.

An entry names the exchange (the ``exchange`` label, the config and CLI value) and where its
parts live: the message handler (parsing, shared by the live feed and the replay), the live
feed, the feed's default endpoints, and how to recognise a recording of it. The feed factory
(``trader.feeds.make_feeds``), the replay's handler lookup and format detection, the config's
and the CLI's lists of exchanges and their messages all read this table. Classes are named as
``"module:Class"`` and imported on first use, so the config and the CLI can list exchanges
without importing WebSocket clients.

Adding an exchange is one adapter module (``trader/feeds/<name>.py``: a handler on
``ExchangeHandler`` and a feed on ``WebSocketFeed``, whose hooks ``trader/feeds/base.py``
lists), one entry below, and its tests. Its exchange account adapter (a real account watched
through read-only keys, on ccxt: ``trader/accounts/<name>.py``, the hooks of
``trader/accounts/adapter.py``) is the ``account`` field of the same entry.

    >>> exchange("okx").endpoints["ws_url"]
    'wss://ws.okx.com:8443/ws/v5/public'
    >>> recorded_exchange(b'1652400000.1: {"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[]}')
    'okx'
    >>> exchange("kraken")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: exchange 'kraken': expected one of binance, bybit, ...
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["Exchange", "REGISTRY", "exchange", "exchange_names", "recorded_exchange", "titles"]

_URL_HEAD = 200  # bytes at the start of a recording line where a connection URL is looked for


def _load(reference: str) -> type:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Exchange:
    name: str  # the ``exchange`` label value, the config and CLI name
    title: str  # the name a user reads in messages
    handler: str  # "module:Class" of the message handler (an ExchangeHandler)
    feed: str  # "module:Class" of the live feed (a WebSocketFeed): ``Feed(handler, symbols, api_stats, **endpoints)``
    endpoints: Mapping[str, str]  # the live feed's default base URLs, by keyword argument
    # Replay detection: a recording's line names the exchange's host in its connection URL
    # (cryptofeed captures), or holds a key only this exchange's messages have.
    url_marker: bytes
    message_marker: bytes
    account: str | None = None  # "module:Class" of the exchange account adapter (an AccountAdapter)
    account_needs_passphrase: bool = False  # its API keys come with a passphrase (OKX)

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoints", MappingProxyType(dict(self.endpoints)))

    def handler_class(self) -> type:
        return _load(self.handler)

    def feed_class(self) -> type:
        return _load(self.feed)

    def account_class(self) -> type:
        if self.account is None:
            raise ValueError(f"exchange {self.name!r}: no account adapter is registered")
        return _load(self.account)

    def recognises(self, line: bytes) -> bool:
        """Whether one line of a recording comes from this exchange."""
        return self.url_marker in line[:_URL_HEAD] or self.message_marker in line


REGISTRY: tuple[Exchange, ...] = (
    Exchange("binance", "Binance", "trader.feeds.binance:BinanceHandler", "trader.feeds.binance:BinanceFeed",
             {"ws_base": "wss://fstream.binance.com", "rest_base": "https://fapi.binance.com"},
             url_marker=b"binance", message_marker=b'"stream":', account="trader.accounts.binance:BinanceAccount"),
    Exchange("bybit", "Bybit", "trader.feeds.bybit:BybitHandler", "trader.feeds.bybit:BybitFeed",
             {"ws_url": "wss://stream.bybit.com/v5/public/linear"},
             url_marker=b"bybit", message_marker=b'"topic":', account="trader.accounts.bybit:BybitAccount"),
    Exchange("okx", "OKX", "trader.feeds.okx:OkxHandler", "trader.feeds.okx:OkxFeed",
             {"ws_url": "wss://ws.okx.com:8443/ws/v5/public", "rest_base": "https://www.okx.com"},
             url_marker=b"okx.com", message_marker=b'"arg":', account="trader.accounts.okx:OkxAccount",
             account_needs_passphrase=True),
)

_BY_NAME = {entry.name: entry for entry in REGISTRY}


def exchange_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def exchange(name: str) -> Exchange:
    """The registration of ``name``; a ValueError naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"exchange {name!r}: expected one of {', '.join(_BY_NAME)}") from None


def recorded_exchange(line: bytes) -> str | None:
    """The exchange one line of a recording comes from, or None if no registration recognises it."""
    for entry in REGISTRY:
        if entry.recognises(line):
            return entry.name
    return None


def titles() -> str:
    """The exchanges for a message: "Binance, Bybit or OKX"."""
    names = [entry.title for entry in REGISTRY]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
