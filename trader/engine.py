"""``Trader``: wires the bus, market state, feeds, accounts, strategies, brokers and drills.

    trader = Trader(load_config(None))          # live Binance, one account "main"
    task = asyncio.create_task(trader.run())    # returns when stopped (or a replay ends)
    trader.snapshot()                           # a TraderSnapshot, any time
    trader.stop()

Market events reach, synchronously on the bus, each account's broker (resting orders, marks,
funding, liquidations) and then its strategies. Two timers run beside the feeds: housekeeping
every second (stale entries, position timeouts) and the risk sampler every
``risk.sample_interval_seconds`` (equity samples; VaR, Sharpe... recomputed there only).

Exchange accounts (``config.exchange_accounts``, read-only keys, ``trader/accounts/``) have no
broker and no strategy: each is an ``AccountWatcher`` task polling the exchange. A trader with
only exchange accounts places no order at all. ``verify_accounts()`` asks each exchange what its
key may do before the run (a key that can withdraw stops start-up).

With a ``journal`` (trader/journal/), the accounts resume from it at construction and its writer
runs beside the timers, flushing once more at a clean stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

# trader.accounts itself is light: ccxt and the adapters load inside build_watchers, only for a
# config with exchange accounts, so a paper-only trader never imports them.
from .accounts import build_watchers
from .anomalies import AnomalyDetector
from .api_stats import ApiStats
from .broker import PaperBroker, SimulatedExchange
from .bus import EventBus
from .conditions import ConditionWatch
from .config import Config
from .drills import DRILLS, Drill, DrillContext
from .events import DepthUpdate, MarkPrice, Quote, Trade
from .limits import LimitsGate
from .market import MarketState
from .portfolio import Account
from .snapshot import TraderSnapshot
from .strategies import Strategy, StrategyContext, make_strategy
from .vocabulary import ORDER_ENDPOINTS, MarketKey

if TYPE_CHECKING:
    from .journal import Journal

__all__ = ["Trader", "AccountRuntime"]

_log = logging.getLogger("trader.engine")
_HOUSEKEEPING_SECONDS = 1.0
Key = MarketKey


@dataclass
class AccountRuntime:
    account: Account
    broker: PaperBroker
    strategies: list[Strategy] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)


class Trader:
    def __init__(self, config: Config, *, drill: str | None = None, feeds: Sequence[object] | None = None,
                 clock: Callable[[], float] = time.time, journal: "Journal | None" = None,
                 environ: Mapping[str, str] | None = None) -> None:
        """``feeds``: ready feed objects (tests); default: built from ``config.feed``. ``journal``:
        resume from it and write to it (the caller opens and closes it). ``environ``: where
        exchange accounts' keys are read (default ``os.environ``)."""
        self.config = config
        self.clock = clock
        self.bus = EventBus()
        self.market = MarketState()
        self.anomalies = AnomalyDetector(self.bus, self.market)  # source document 003's detector, on every trade
        self.api_stats = ApiStats(self.bus, clock)
        self.exchange = SimulatedExchange(config.paper, self.api_stats, seed=config.feed.seed)
        gate = LimitsGate(self.bus, config.paper.taker_fee_ratio)
        for exchange in config.feed.exchanges:
            for endpoint in ORDER_ENDPOINTS:
                self.api_stats.declare(exchange, endpoint)
        now = clock()
        self.accounts: list[AccountRuntime] = []
        self._by_key: dict[Key, list[AccountRuntime]] = defaultdict(list)
        self._strategies_by_key: dict[Key, list[Strategy]] = defaultdict(list)
        for account_config in config.accounts:
            names = tuple(s.name for s in account_config.strategies)
            account = Account(account_config.name, account_config.initial_balance_usdt, account_config.limits,
                              config.risk, names, now)
            broker = PaperBroker(account, self.market, self.bus, self.exchange, gate, clock)
            keys = [(e, s) for e in config.account_exchanges(account_config) for s in config.account_symbols(account_config)]
            runtime = AccountRuntime(account, broker, keys=keys)
            context = StrategyContext(account, broker, self.market, self.bus, clock)
            for strategy_config in account_config.strategies:
                strategy_keys = [k for k in keys if not strategy_config.symbols or k[1] in strategy_config.symbols]
                strategy = make_strategy(strategy_config, context, strategy_keys)
                runtime.strategies.append(strategy)
                for key in strategy_keys:
                    self._strategies_by_key[key].append(strategy)
            for key in keys:
                self._by_key[key].append(runtime)
            self.accounts.append(runtime)
        # When an alert's condition first holds, for the alert latency benchmark (trader/conditions.py):
        # checked after each equity update, which every drawdown, halt and liquidation distance follows.
        self.conditions = ConditionWatch(self.bus, config.alert_conditions, clock)
        for runtime in self.accounts:
            runtime.account.on_equity = self.conditions.check
        # --- exchange accounts: read-only watchers, no broker, no strategy (trader/accounts/) ---
        self.watchers = build_watchers(config, self.api_stats, clock, environ)
        self.bus.subscribe(Quote, self._on_market)
        self.bus.subscribe(Trade, self._on_market)
        self.bus.subscribe(DepthUpdate, self._on_market)
        self.bus.subscribe(MarkPrice, self._on_mark_price)
        self.feeds = list(feeds) if feeds is not None else self._make_feeds()
        self.journal_writer = None
        if journal is not None:
            from .journal import attach

            self.journal_writer = attach(journal, self)
        self.drill: Drill | None = None
        if drill is not None:
            first = self.accounts[0]
            self.drill = Drill(drill, config.drill, DrillContext(
                self.bus, self.feeds, self.exchange, [a.broker for a in self.accounts], first.keys, clock,
                strategies=first.strategies))
        self._stopping: asyncio.Event | None = None
        self.started_at: float | None = None

    def _make_feeds(self) -> list[object]:
        from .feeds import make_feeds  # the feeds package pulls in websockets; import when needed

        feed = self.config.feed
        return list(make_feeds(feed.kind, list(feed.exchanges), list(feed.symbols), self.bus, self.market,
                               self.api_stats, replay_path=feed.replay_path, speed=feed.speed, seed=feed.seed,
                               updates_per_second=feed.sim_updates_per_second))

    # --- market events --------------------------------------------------------------------------

    def _on_market(self, event: Quote | Trade | DepthUpdate) -> None:
        # Every market message ends here (tens of thousands a second in a replay): the brokers and
        # strategies keep the per-event work cheap themselves (unchanged marks, orders the market
        # has not reached, no bar closed yet are skipped).
        exchange, symbol, ts = event.exchange, event.symbol, event.ts
        key = (exchange, symbol)
        for runtime in self._by_key.get(key, ()):
            runtime.broker.on_market(exchange, symbol, ts)
        for strategy in self._strategies_by_key.get(key, ()):
            strategy.on_price(key, ts)

    def _on_mark_price(self, event: MarkPrice) -> None:
        for runtime in self._by_key.get((event.exchange, event.symbol), ()):
            runtime.broker.on_mark_price(event.exchange, event.symbol, event.ts, event.mark_price,
                                         event.funding_rate, event.next_funding_ts)

    # --- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> list[object]:
        """Run until ``stop()`` or until every feed has ended (a replay); returns the feeds' results."""
        self._stopping = asyncio.Event()
        self.started_at = self.clock()
        config = self.config
        _log.info("trader started", extra={
            "feed": config.feed.kind, "exchanges": ",".join(config.feed.exchanges),
            "symbols": ",".join(config.feed.symbols), "accounts": ",".join(a.account.name for a in self.accounts),
            "drill": self.drill.name if self.drill else None})
        feed_tasks = [asyncio.create_task(feed.run(), name=f"feed-{getattr(feed, 'exchange', '?')}") for feed in self.feeds]
        helpers = [asyncio.create_task(self._housekeeping(), name="housekeeping"),
                   asyncio.create_task(self._sampler(), name="risk-sampler")]
        helpers += [asyncio.create_task(w.run(), name=f"account-{w.name}") for w in self.watchers]
        if self.drill is not None:
            helpers.append(asyncio.create_task(self._run_drill(), name="drill"))
        if self.journal_writer is not None:
            helpers.append(asyncio.create_task(self.journal_writer.run(), name="journal"))
        stop_task = asyncio.create_task(self._stopping.wait(), name="stop")
        results: list[object] = []
        try:
            pending = set(feed_tasks)
            while pending and not self._stopping.is_set():
                done, pending = await asyncio.wait(pending | {stop_task}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stop_task)
                for task in done:
                    if task is stop_task:
                        continue
                    if task.exception() is not None:
                        _log.error("feed failed", exc_info=task.exception(), extra={"exchange": task.get_name()[5:]})
        finally:
            for task in feed_tasks + helpers + [stop_task]:
                task.cancel()
            await asyncio.gather(*feed_tasks, *helpers, stop_task, return_exceptions=True)
            for runtime in self.accounts:
                runtime.broker.close()
            if self.journal_writer is not None:
                self.journal_writer.close()
            for task in feed_tasks:
                if task.done() and not task.cancelled() and task.exception() is None:
                    results.append(task.result())
            _log.info("trader stopped", extra={"seconds": round(self.clock() - self.started_at, 2)})
        return results

    async def verify_accounts(self, timeout: float = 15.0) -> None:
        """Ask each exchange what its account's key may do. ``KeyRefused`` (a key that can
        withdraw) propagates; an exchange that cannot answer yet is asked again before reading."""
        from .accounts.errors import AccountApiError, KeyRefused

        for watcher in self.watchers:
            try:
                await asyncio.wait_for(watcher.verify(), timeout)
            except (AccountApiError, asyncio.TimeoutError) as error:
                _log.warning("cannot ask the exchange what the key may do yet; asking again before reading",
                             extra={"account": watcher.name, "exchange": watcher.exchange,
                                    "reason": getattr(error, "reason", "timeout")})
            except KeyRefused:
                raise
            except Exception:  # a bug: the watcher asks again before reading, and logs it there too
                _log.exception("asking the exchange what the key may do failed",
                               extra={"account": watcher.name, "exchange": watcher.exchange})

    def stop(self) -> None:
        """Ask ``run()`` to return (safe from a signal handler on the loop's thread)."""
        if self._stopping is not None:
            self._stopping.set()

    async def _run_drill(self) -> None:
        try:
            await self.drill.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("drill failed", extra={"drill": self.drill.name})

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(_HOUSEKEEPING_SECONDS)
            now = self.clock()
            for runtime in self.accounts:
                for strategy in runtime.strategies:
                    try:
                        strategy.on_timer(now)
                    except Exception:
                        _log.exception("strategy timer failed", extra={
                            "account": runtime.account.name, "strategy": strategy.name})

    async def _sampler(self) -> None:
        interval = self.config.risk.sample_interval_seconds
        while True:
            await asyncio.sleep(interval)
            self.sample()

    def sample(self) -> None:
        """Take one equity sample per account and recompute its risk figures."""
        now = self.clock()
        for runtime in self.accounts:
            runtime.account.sample(now)

    # --- state ----------------------------------------------------------------------------------

    def snapshot(self) -> TraderSnapshot:
        now = self.clock()
        drills = dict.fromkeys(DRILLS, False)
        if self.drill is not None:
            drills[self.drill.name] = self.drill.active
        watched = tuple(s for w in self.watchers if (s := w.state.snapshot(now)) is not None)
        return TraderSnapshot(
            ts=now,
            accounts=tuple(runtime.account.snapshot(now) for runtime in self.accounts) + watched,
            feeds=self.market.feed_snapshots(),
            markets=self.market.market_snapshots(),
            api_requests=self.api_stats.snapshot(),
            drills=drills,
            api_errors=self.api_stats.errors_snapshot(),
            account_watch=tuple(w.watch_snapshot(now) for w in self.watchers),
        )
