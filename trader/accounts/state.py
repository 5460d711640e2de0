"""What the trader keeps of an exchange account that the exchange does not: the journal's share.

The exchange says the balance, the margins and the positions; it does not say the high-water mark,
the equity at 00:00 UTC, the deepest drawdown, or which of its fills, fees, funding payments,
transfers, closed positions and liquidations the trader has already counted. ``ExchangeAccountState``
keeps those, under the attribute names of the paper ``Account`` (``trader/portfolio.py``):
``initial``, ``balance``, ``high_water_mark``, ``max_drawdown``, ``day``, ``day_start_equity``,
``realized_pnl``, ``funding_pnl``, ``commission``, ``volume``, ``liquidations``, ``strategy_stats``.

The journal's seam (issue 13) is the pair ``state_to_save()`` (a dict of plain values to write:
an ``accounts`` row of kind ``exchange``, the ids already counted, the open round trips) and
``load_state(saved)`` (called once, before the first read, with what the journal read back).
New closed positions come out of ``apply()`` for the journal's ``trades`` (strategy
``external``, exit reason ``external`` or ``liquidation``, ``external_id`` = their id).

Deposits and withdrawals are neither profit nor drawdown. The high-water mark is the running peak
of equity with each transfer added at its time: the state keeps the last 10 minutes of equity
samples and replays them with the transfers in time order, because a transfer's record arrives
with the next history read (``history_seconds``), after the equity that already shows it; until
then, equity shows it as a gain or loss. A transfer counts in today's transfers
(``day_transfers``, the journal's ``daily.transfers_usdt``) if today's start equity was taken
before it.

    >>> from trader.accounts.model import AccountReading, Balance, CashFlow, History
    >>> state = ExchangeAccountState("main", "binance", now=1_000.0)
    >>> def reading(equity):
    ...     return AccountReading(Balance(equity, equity, 0.0, 0.0, equity, 0.0, 0.0), ())
    >>> _ = state.observe(reading(10_000.0), now=1_000.0)
    >>> _ = state.observe(reading(5_000.0), now=1_010.0)      # 5,000 withdrawn at t=1,005...
    >>> _ = state.apply(History(flows=(CashFlow("t1", "transfer", -5_000.0, None, 1_005.0),)), now=1_020.0)
    >>> state.high_water_mark, state.day_transfers, state.snapshot(1_020.0).daily_pnl_usdt
    (5000.0, -5000.0, 0.0)
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from trader import risk
from trader.accounts.model import AccountReading, ClosedPosition, History
from trader.accounts.roundtrips import RoundTrips
from trader.snapshot import AccountSnapshot, PositionSnapshot, StrategySnapshot

__all__ = ["ExchangeAccountState", "TradeStats", "STRATEGY"]

STRATEGY = "external"  # the strategy name of an exchange account's own positions and trades
_KEEP_IDS_SECONDS = 2 * risk.SECONDS_PER_DAY  # counted ids older than the cursors by this are forgotten
_REPLAY_SECONDS = 600.0  # equity samples kept to replay with a transfer whose record comes late


@dataclass
class TradeStats:
    """Closed round trips, as the paper account's per-strategy stats name them."""

    pnl: float = 0.0  # net PnL of closed trades
    wins: int = 0
    losses: int = 0
    gross_profit: float = 0.0
    gross_loss: float = 0.0
    signals: Counter = field(default_factory=Counter)  # always empty: nobody signals on an exchange account


class ExchangeAccountState:
    def __init__(self, name: str, exchange: str, now: float, *, round_trips: bool = False) -> None:
        self.name = name
        self.exchange = exchange
        self.started_at = now
        self.reading: AccountReading | None = None
        self.initial: float | None = None  # equity when first seen
        self.balance: float | None = None  # wallet balance, as the exchange says
        self.high_water_mark: float | None = None
        self.max_drawdown = 0.0
        # The peak and deepest drawdown up to the replay window, then its samples and transfers.
        self._settled_hwm: float | None = None
        self._settled_max_drawdown = 0.0
        self._samples: deque = deque()  # (ts, equity)
        self._transfers: list[tuple[float, float]] = []  # (ts, amount), within the window
        self.day: int | None = None  # UTC day number (Unix days) that day_start_equity belongs to
        self.day_start_equity: float | None = None
        self.day_start_ts: float | None = None
        self.day_transfers = 0.0
        self.realized_pnl = 0.0
        self.funding_pnl = 0.0
        self.commission: dict[str, float] = defaultdict(float, {exchange: 0.0})
        self.volume: dict[tuple[str, str], float] = defaultdict(float)
        self.liquidations: Counter = Counter()
        self.strategy_stats = {STRATEGY: TradeStats()}
        self.counted: dict[str, float] = {}  # ids of what was counted -> its time
        self.cursor: dict[str, float] = {}  # history stream -> read up to (Unix seconds)
        self.opened_at: dict[str, float] = {}  # symbol -> first seen (for exchanges that give no open time)
        self.vanished: set[str] = set()  # symbols whose position went away since the last history read
        self.trips = RoundTrips() if round_trips else None

    # --- reads --------------------------------------------------------------------------------

    def observe(self, reading: AccountReading, now: float) -> list[str]:
        """Take one read of balance and positions; returns the symbols whose position went away."""
        previous = {p.symbol for p in self.reading.positions} if self.reading else set()
        first = self.reading is None
        self.reading = reading
        current = {p.symbol for p in reading.positions}
        for position in reading.positions:
            key = (self.exchange, position.symbol)
            self.liquidations.setdefault(key, 0)  # the series exists at 0 before a liquidation
            self.volume.setdefault(key, 0.0)
            self.opened_at.setdefault(position.symbol, position.opened_at or now)
            if first and self.trips is not None and not self.cursor:  # restored trips know their fills
                self.trips.seed(position.symbol, position.quantity, position.entry_price,
                                self.opened_at[position.symbol])
        gone = sorted(previous - current)
        for symbol in gone:
            self.opened_at.pop(symbol, None)
        self.vanished.update(gone)
        equity = reading.balance.equity
        self.balance = reading.balance.wallet_balance
        if self.initial is None:
            self.initial = equity
        self._track(equity, now)
        return gone

    def _track(self, equity: float, now: float) -> None:
        day = int(now // risk.SECONDS_PER_DAY)
        if day != self.day:
            self.day, self.day_start_equity, self.day_start_ts, self.day_transfers = day, equity, now, 0.0
        self._samples.append((now, equity))
        self._settle(now - _REPLAY_SECONDS)
        self._replay()

    def _walk(self, hwm: float | None, deepest: float, events) -> tuple[float | None, float]:
        for _, transfer, value in events:
            if transfer:
                hwm = hwm + value if hwm is not None else None
            else:
                hwm = value if hwm is None else max(hwm, value)
                deepest = max(deepest, risk.drawdown_ratio(value, hwm))
        return hwm, deepest

    def _events(self, until: float = float("inf")):
        """Samples and transfers in time order (a transfer before a sample of the same instant)."""
        events = [(ts, False, equity) for ts, equity in self._samples if ts <= until]
        events += [(ts, True, amount) for ts, amount in self._transfers if ts <= until]
        return sorted(events, key=lambda e: (e[0], not e[1]))

    def _settle(self, horizon: float) -> None:
        if self._samples and self._samples[0][0] < horizon:
            self._settled_hwm, self._settled_max_drawdown = self._walk(
                self._settled_hwm, self._settled_max_drawdown, self._events(until=horizon))
            while self._samples and self._samples[0][0] <= horizon:
                self._samples.popleft()
            self._transfers = [(ts, amount) for ts, amount in self._transfers if ts > horizon]

    def _replay(self) -> None:
        self.high_water_mark, self.max_drawdown = self._walk(self._settled_hwm, self._settled_max_drawdown,
                                                             self._events())

    def apply(self, history: History, now: float) -> list[ClosedPosition]:
        """Count what ``history`` holds that was not counted yet; returns the new closed positions."""
        closed: list[ClosedPosition] = []
        liquidated_orders = set()
        for liquidation in history.liquidations:
            liquidated_orders.add(liquidation.id)
            if self._first(f"liq:{liquidation.id}", liquidation.ts):
                self.liquidations[(self.exchange, liquidation.symbol)] += 1
        for flow in sorted(history.flows, key=lambda f: f.ts):
            if self._first(f"{flow.kind}:{flow.id}", flow.ts):
                self._apply_flow(flow.kind, flow.amount, flow.symbol, flow.ts)
        for fill in sorted(history.fills, key=lambda f: f.ts):
            if not self._first(f"fill:{fill.id}", fill.ts):
                continue
            self.volume[(self.exchange, fill.symbol)] += fill.notional
            if self.trips is not None:
                trip = self.trips.add(fill, liquidation=fill.order_id in liquidated_orders)
                if trip is not None:
                    closed.append(trip)
        closed.extend(history.closed)
        new = [c for c in closed if self._first(f"close:{c.id}", c.closed_at)]
        for trade in new:
            self._count_trade(trade)
        self.vanished.clear()
        for stream, until in history.cursor.items():
            self.cursor[stream] = max(self.cursor.get(stream, 0.0), until)
        self._forget_old_ids()
        return new

    def _first(self, key: str, ts: float) -> bool:
        if key in self.counted:
            return False
        self.counted[key] = ts
        return True

    def _apply_flow(self, kind: str, amount: float, symbol: str | None, ts: float) -> None:
        if kind == "realized":
            self.realized_pnl += amount
        elif kind == "fee":
            if amount > 0:  # a rebate (< 0) is not an unpaid fee: the counter only grows
                self.commission[self.exchange] += amount
        elif kind == "funding":
            self.funding_pnl += amount
            if self.trips is not None and symbol:
                self.trips.add_funding(symbol, amount)
        elif kind == "transfer":
            self._apply_transfer(amount, ts)

    def _apply_transfer(self, amount: float, ts: float) -> None:
        if self.day_start_ts is not None and self.day_start_ts < ts and int(ts // risk.SECONDS_PER_DAY) == self.day:
            self.day_transfers += amount
        if self._samples and ts >= self._samples[0][0]:
            self._transfers.append((ts, amount))
        elif self._settled_hwm is not None:  # older than the window: moves the settled peak
            self._settled_hwm += amount
        self._replay()

    def _count_trade(self, trade: ClosedPosition) -> None:
        stats = self.strategy_stats[STRATEGY]
        stats.pnl += trade.net_pnl
        if trade.net_pnl > 0:
            stats.wins += 1
            stats.gross_profit += trade.net_pnl
        else:
            stats.losses += 1
            stats.gross_loss += -trade.net_pnl

    def _forget_old_ids(self) -> None:
        if not self.cursor:
            return
        horizon = min(self.cursor.values()) - _KEEP_IDS_SECONDS
        if any(ts < horizon for ts in self.counted.values()):
            self.counted = {key: ts for key, ts in self.counted.items() if ts >= horizon}

    # --- figures ------------------------------------------------------------------------------

    def daily_pnl(self, equity: float) -> float:
        """Equity change since 00:00 UTC, deposits and withdrawals left out."""
        return equity - (self.day_start_equity or equity) - self.day_transfers

    def snapshot(self, now: float) -> AccountSnapshot | None:
        """The account's figures, or None before the first read (no figure exists yet)."""
        if self.reading is None:
            return None
        balance = self.reading.balance
        equity = balance.equity
        positions = tuple(self._position(p, now) for p in self.reading.positions)
        notional = sum(p.notional_usdt for p in positions)
        stats = self.strategy_stats[STRATEGY]
        unrealized = balance.unrealized_pnl
        drawdown = risk.drawdown_ratio(equity, self.high_water_mark)
        return AccountSnapshot(
            name=self.name, equity_usdt=equity, balance_usdt=balance.wallet_balance, initial_equity_usdt=self.initial,
            high_water_mark_usdt=self.high_water_mark, day_start_equity_usdt=self.day_start_equity,
            daily_pnl_usdt=self.daily_pnl(equity), realized_pnl_usdt=self.realized_pnl,
            unrealized_pnl_usdt=unrealized, funding_pnl_usdt=self.funding_pnl, commission_usdt=dict(self.commission),
            drawdown_ratio=drawdown, max_drawdown_ratio=max(self.max_drawdown, drawdown),
            var_usdt={}, cvar_usdt={}, sharpe_30d=None, sortino_30d=None,
            profit_factor=stats.gross_profit / stats.gross_loss if stats.gross_loss > 0 else None,
            win_rate=stats.wins / (stats.wins + stats.losses) if stats.wins + stats.losses else None,
            leverage=notional / equity if equity > 0 else 0.0, notional_usdt=notional,
            margin_used_usdt=balance.margin_used, margin_free_usdt=balance.margin_free, correlation_max=None,
            trading_halted=False, limits=None, positions=positions,
            strategies=(StrategySnapshot(STRATEGY, self.realized_pnl - sum(self.commission.values())
                                         + self.funding_pnl + unrealized, None, {}, stats.wins, stats.losses),),
            orders={}, orders_by_type={}, volume_usdt=dict(self.volume), risk_refusals={},
            liquidations=dict(self.liquidations), rejections={},
            kind="exchange", exchange=self.exchange, margin_ratio=balance.margin_ratio)

    def _position(self, p, now: float) -> PositionSnapshot:
        mark = p.mark_price
        liq = p.liquidation_price
        opened_at = p.opened_at or self.opened_at.get(p.symbol, now)
        return PositionSnapshot(
            exchange=self.exchange, symbol=p.symbol, strategy=STRATEGY, quantity=p.quantity,
            entry_price=p.entry_price, mark_price=mark, notional_usdt=abs(p.quantity) * mark,
            unrealized_pnl_usdt=p.unrealized_pnl, margin_usdt=p.margin, leverage=p.leverage,
            liquidation_price=liq,
            liquidation_distance_ratio=risk.liquidation_distance_ratio(mark, liq),
            opened_at=opened_at, age_seconds=max(0.0, now - opened_at))

    # --- the journal's seam -------------------------------------------------------------------

    def state_to_save(self) -> dict[str, Any]:
        """Everything a restart needs, as plain values (what the journal writes): ``day`` as the
        journal's ``YYYY-MM-DD``, ``fees`` the journal's ``fees_usdt``, ``day_transfers`` its
        ``daily.transfers_usdt``."""
        stats = self.strategy_stats[STRATEGY]
        return {
            "name": self.name, "kind": "exchange", "exchange": self.exchange, "started_at": self.started_at,
            "initial": self.initial, "balance": self.balance,
            "equity": self.reading.balance.equity if self.reading else None,
            "high_water_mark": self.high_water_mark, "max_drawdown": self.max_drawdown,
            "day": _day_text(self.day), "day_start_equity": self.day_start_equity, "day_start_ts": self.day_start_ts,
            "day_transfers": self.day_transfers, "realized_pnl": self.realized_pnl, "funding_pnl": self.funding_pnl,
            "commission": dict(self.commission), "fees": sum(self.commission.values()),
            "volume": [[e, s, v] for (e, s), v in self.volume.items()],
            "liquidations": [[e, s, n] for (e, s), n in self.liquidations.items()],
            "stats": {"pnl": stats.pnl, "wins": stats.wins, "losses": stats.losses,
                      "gross_profit": stats.gross_profit, "gross_loss": stats.gross_loss},
            "counted": dict(self.counted), "cursor": dict(self.cursor), "opened_at": dict(self.opened_at),
            "trips": self.trips.open_trips() if self.trips is not None else {},
        }

    def load_state(self, saved: dict[str, Any]) -> None:
        """Resume from ``saved`` (a ``state_to_save()`` read back): before the first read only."""
        for key in ("started_at", "initial", "high_water_mark", "max_drawdown", "day", "day_start_equity",
                    "day_start_ts", "day_transfers", "realized_pnl", "funding_pnl"):
            if saved.get(key) is not None:
                setattr(self, key, saved[key])
        if isinstance(self.day, str):
            self.day = (date.fromisoformat(self.day) - _EPOCH).days
        self._settled_hwm, self._settled_max_drawdown = self.high_water_mark, self.max_drawdown
        self.commission.update(saved.get("commission", {}))
        self.volume.update({(e, s): v for e, s, v in saved.get("volume", [])})
        self.liquidations.update({(e, s): n for e, s, n in saved.get("liquidations", [])})
        stats = self.strategy_stats[STRATEGY]
        for key, value in saved.get("stats", {}).items():
            setattr(stats, key, value)
        self.counted.update(saved.get("counted", {}))
        self.cursor.update(saved.get("cursor", {}))
        self.opened_at.update(saved.get("opened_at", {}))
        if self.trips is not None:
            self.trips.restore(saved.get("trips", {}))


_EPOCH = date(1970, 1, 1)


def _day_text(day: int | None) -> str | None:
    """The journal's ``YYYY-MM-DD`` of a Unix day number."""
    return None if day is None else (_EPOCH + timedelta(days=day)).isoformat()
