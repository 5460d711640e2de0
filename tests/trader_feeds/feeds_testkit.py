"""Helpers shared by the market-data tests: the real recordings and an event recorder."""

from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

from trader import events
from trader.bus import EventBus

from tests.support.shared import DATA_DIR

DATA = DATA_DIR
BTC_2024 = DATA / "binance-usdm-btcusdt-20240808.jsonl.gz"
ETH_2024 = DATA / "binance-usdm-ethusdt-20240808.jsonl.gz"
BINANCE_2021 = DATA / "binance-futures-ws-20210722.txt"
OKX_2022 = DATA / "okx-ws-20220513.txt"

MARKET_EVENTS = (events.Trade, events.Quote, events.DepthUpdate, events.MarkPrice, events.MarketLiquidation,
                 events.FeedConnected, events.FeedDisconnected, events.FeedResynced, events.MessageRejected,
                 events.ApiRequest, events.Anomaly)


class Recorder:
    """Subscribes to every market-data event type and keeps them by type."""

    def __init__(self, bus: EventBus) -> None:
        self.by_type: dict[type, list] = defaultdict(list)
        for t in MARKET_EVENTS:
            bus.subscribe(t, self.by_type[t].append)

    def __getitem__(self, t: type) -> list:
        return self.by_type[t]


def recording_lines(path: Path) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return f.read().splitlines()


def first_line(path: Path, needle: bytes) -> bytes:
    """The JSON payload of the first message line of a recording containing ``needle``."""
    for line in recording_lines(path):
        if needle in line and line[:1].isdigit():
            return line.split(b" ", 1)[1]
    raise AssertionError(f"{needle!r} not in {path}")
