"""One paper account: wallet, isolated positions, PnL, counters and the cached risk figures.

Money follows a linear USDT-margined perpetual with isolated margin:

- ``balance`` (wallet) = initial + realised trading PnL - fees + funding;
- ``equity`` = balance + unrealised PnL of the open positions at their mark price;
- each position holds its own margin, ``entry notional / leverage``; ``margin free`` = equity -
  margin used. A liquidation forfeits the position's whole isolated margin.

A symbol's position belongs to the strategy that opened it (one-way mode: one position per
exchange and symbol); other strategies leave that symbol alone until it is flat again.

Risk figures (VaR, CVaR, Sharpe, Sortino, correlation) are recomputed by ``sample()`` on the
sampling interval, never by ``snapshot()``, so a scrape costs a few dictionary copies. VaR, CVaR
and correlation read the equity and price samples; Sharpe and Sortino read the returns of whole
UTC days (``days``, trader/days.py: closed at each day roll and resumed from the journal).

Halts: the drawdown limit halts new entries until an operator lifts it (``lift_halt()``, or
``python -m trader resume`` on the journal); the daily loss limit halts them for the rest of the
UTC day. ``observer`` (the journal's writer, trader/journal/) is told of each halt and day roll
at once, so it can commit them at once.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from . import risk
from .config import LimitsConfig, RiskConfig
from .days import ClosedDay, DailyReturns
from .events import RoundTrip
from .snapshot import AccountSnapshot, PositionSnapshot, RiskLimitsSnapshot, StrategySnapshot
from .vocabulary import MarketKey

__all__ = ["Position", "Account", "ClosedTrade", "ClosedDay", "AccountObserver"]

_log = logging.getLogger("trader.portfolio")
Key = MarketKey


@dataclass
class Position:
    exchange: str
    symbol: str
    strategy: str
    quantity: float  # signed
    entry_price: float
    margin: float  # isolated margin, USDT
    opened_at: float
    maintenance_margin_ratio: float
    fees: float = 0.0  # fees paid over the position's life (round trip)
    realized: float = 0.0  # trading PnL of quantity already closed
    # what the closed round trip reports (trader/journal/: the trades table)
    funding: float = 0.0  # funding received (> 0) or paid over the position's life
    side: str = "long"  # 'long' | 'short': the direction it was opened in
    max_quantity: float = 0.0  # the largest absolute size held
    exit_quantity: float = 0.0  # closed so far, and its notional: the exit's volume-weighted price
    exit_notional: float = 0.0

    @property
    def leverage(self) -> float:
        return abs(self.quantity) * self.entry_price / self.margin if self.margin > 0 else 0.0

    @property
    def liquidation_price(self) -> float:
        return risk.liquidation_price(self.entry_price, self.leverage, self.maintenance_margin_ratio, self.quantity > 0)

    def unrealized(self, mark: float) -> float:
        return (mark - self.entry_price) * self.quantity


ClosedTrade = RoundTrip  # what closing a position returns: the round trip (trader/events.py)


class AccountObserver(Protocol):
    """What the journal's writer hears from an account the moment it happens."""

    def halted(self, account: "Account", reason: str, ts: float) -> None: ...

    def day_rolled(self, account: "Account", closed: ClosedDay, ts: float) -> None: ...


class _Ring:
    """A fixed-capacity series of floats; ``values()`` is oldest first."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(capacity)
        self._n = 0

    def append(self, value: float) -> None:
        cap = self._data.size
        self._data[self._n % cap] = value
        self._n += 1

    def __len__(self) -> int:
        return min(self._n, self._data.size)

    def values(self, last: int | None = None) -> np.ndarray:
        cap = self._data.size
        if self._n <= cap:
            out = self._data[: self._n]
        else:
            start = self._n % cap
            out = np.concatenate((self._data[start:], self._data[:start]))
        return out if last is None else out[-last:]


@dataclass
class _StrategyStats:
    pnl: float = 0.0  # realised after fees, plus funding, of closed and open quantity
    signals: Counter = field(default_factory=Counter)
    wins: int = 0
    losses: int = 0
    gross_profit: float = 0.0
    gross_loss: float = 0.0
    # The strategy's heartbeat (trader/strategies/base.py): wall-clock time of its last evaluation
    # of each (exchange, symbol), and of its last order (since start before the first).
    last_evaluation: dict = field(default_factory=dict)
    last_order_ts: float | None = None


class Account:
    # Correlation looks at the last hour of 10-s samples at most: recent co-movement is what matters.
    CORRELATION_SAMPLES = 360

    def __init__(self, name: str, initial_balance: float, limits: LimitsConfig, risk_config: RiskConfig,
                 strategies: tuple[str, ...], now: float) -> None:
        self.name = name
        self.initial = initial_balance
        self.limits = limits
        self.risk_config = risk_config
        self.balance = initial_balance
        self.positions: dict[Key, Position] = {}
        # Symbols taken over by one strategy (a drill) even while flat: others leave them alone.
        self.reserved: dict[Key, str] = {}
        self.marks: dict[Key, float] = {}
        self.realized_pnl = 0.0
        self.funding_pnl = 0.0
        self.commission: dict[str, float] = defaultdict(float)
        self.high_water_mark = initial_balance
        self.max_drawdown = 0.0
        # Called after every equity update (a held position's mark, a fill, funding): the
        # engine's ConditionWatch (trader/conditions.py) sees a limit crossed the moment it is.
        self.on_equity: Callable[["Account"], None] | None = None
        self.day = int(now // risk.SECONDS_PER_DAY)
        self.day_start_equity = initial_balance
        self.halted_drawdown = False
        self.halted_day: int | None = None
        # --- halt, pause and day history: what the journal keeps and a restart resumes -----
        self.halted_drawdown_at: float | None = None
        self.halted_day_at: float | None = None
        self.daily_halt_lifted_day: int | None = None  # an operator lifted that day's daily-loss halt
        self.paused = False  # an operator pause: no new entries (issue 13b)
        self.paused_at: float | None = None
        self.paused_by: str | None = None
        self.day_max_drawdown = 0.0  # deepest drawdown of the current UTC day
        self.days = DailyReturns()  # the closed days' returns: Sharpe and Sortino
        self.observer: AccountObserver | None = None
        # counters the exporters read, cumulative since start
        self.orders: Counter = Counter()  # (exchange, symbol, side, status)
        self.orders_by_type: Counter = Counter()  # (exchange, order_type, status)
        self.volume: dict[Key, float] = defaultdict(float)
        self.risk_refusals: Counter = Counter()
        self.rejections: Counter = Counter()  # (exchange, reason): vocabulary.REJECT_REASONS
        self.liquidations: Counter = Counter()
        self.strategy_stats: dict[str, _StrategyStats] = {s: _StrategyStats() for s in strategies}
        # sampled series
        capacity = max(risk_config.min_samples + 1,
                       int(risk_config.window_days * risk.SECONDS_PER_DAY / risk_config.sample_interval_seconds) + 1)
        self._equity_samples = _Ring(capacity)
        self._price_samples: dict[Key, _Ring] = {}
        self._risk: dict[str, object] = {"var": {}, "cvar": {}, "sharpe": None, "sortino": None,
                                         "strategy_sharpe": {}, "correlation": None}

    # --- money ------------------------------------------------------------------------------

    def stats(self, strategy: str) -> _StrategyStats:
        return self.strategy_stats.setdefault(strategy, _StrategyStats())

    def unrealized(self) -> float:
        return sum(p.unrealized(self.marks.get(k, p.entry_price)) for k, p in self.positions.items())

    def equity(self) -> float:
        return self.balance + self.unrealized()

    def margin_used(self) -> float:
        return sum(p.margin for p in self.positions.values())

    def notional(self) -> float:
        return sum(abs(p.quantity) * self.marks.get(k, p.entry_price) for k, p in self.positions.items())

    def apply_fill(self, exchange: str, symbol: str, strategy: str, signed_qty: float, price: float,
                   fee: float, leverage: float, mmr: float, ts: float) -> ClosedTrade | None:
        """Book a fill of ``signed_qty`` (> 0 buy) at ``price``; returns the trade it closed, if any."""
        key = (exchange, symbol)
        self.balance -= fee
        self.commission[exchange] += fee
        self.volume[key] += abs(signed_qty) * price
        self.marks.setdefault(key, price)
        position = self.positions.get(key)
        closed: ClosedTrade | None = None
        remaining = signed_qty
        if position is not None and position.quantity * signed_qty < 0:
            # reduce (and maybe flip) the open position
            close_qty = min(abs(signed_qty), abs(position.quantity))
            direction = 1.0 if position.quantity > 0 else -1.0
            pnl = (price - position.entry_price) * close_qty * direction
            self.balance += pnl
            self.realized_pnl += pnl
            position.realized += pnl
            position.exit_quantity += close_qty
            position.exit_notional += close_qty * price
            share_of_fee = fee * close_qty / abs(signed_qty)
            position.fees += share_of_fee
            self.stats(position.strategy).pnl += pnl - share_of_fee
            fraction_left = 1.0 - close_qty / abs(position.quantity)
            position.margin *= fraction_left
            position.quantity -= close_qty * direction
            remaining = signed_qty + close_qty * direction
            fee -= share_of_fee
            if abs(position.quantity) <= 1e-12:
                closed = self._close(key, position, ts)
        if abs(remaining) > 1e-12:
            added_margin = abs(remaining) * price / leverage
            position = self.positions.get(key)
            if position is None:
                position = Position(exchange, symbol, strategy, 0.0, price, 0.0, ts, mmr,
                                    side="long" if remaining > 0 else "short")
                self.positions[key] = position
            new_qty = position.quantity + remaining
            position.entry_price = (position.entry_price * abs(position.quantity) + price * abs(remaining)) / abs(new_qty)
            position.quantity = new_qty
            position.max_quantity = max(position.max_quantity, abs(new_qty))
            position.margin += added_margin
            position.fees += fee
            self.stats(position.strategy).pnl -= fee
        self.track_equity(ts)
        return closed

    def _close(self, key: Key, position: Position, ts: float, exit_price: float | None = None) -> ClosedTrade:
        del self.positions[key]
        net = position.realized - position.fees + position.funding
        stats = self.stats(position.strategy)
        if net > 0:
            stats.wins += 1
            stats.gross_profit += net
        else:
            stats.losses += 1
            stats.gross_loss += -net
        if exit_price is None:
            exit_price = position.exit_notional / position.exit_quantity if position.exit_quantity > 0 else position.entry_price
        return ClosedTrade(
            position.strategy, net, max(0.0, ts - position.opened_at), exchange=position.exchange,
            symbol=position.symbol, side=position.side,
            quantity=max(position.max_quantity, abs(position.quantity)), entry_price=position.entry_price,
            exit_price=exit_price, opened_at=position.opened_at, closed_at=ts, pnl=position.realized,
            fees=position.fees, funding=position.funding)

    def apply_funding(self, exchange: str, symbol: str, rate: float, mark: float, ts: float) -> float | None:
        """Pay or receive funding on the open position; longs pay shorts when ``rate`` > 0."""
        position = self.positions.get((exchange, symbol))
        if position is None:
            return None
        amount = -position.quantity * mark * rate
        self.balance += amount
        self.funding_pnl += amount
        position.funding += amount
        self.stats(position.strategy).pnl += amount
        self.track_equity(ts)
        return amount

    def liquidate(self, exchange: str, symbol: str, ts: float) -> tuple[Position, float, ClosedTrade]:
        """Force-close a position: its isolated margin is lost; returns (position, loss, trade)."""
        key = (exchange, symbol)
        position = self.positions[key]
        loss = position.margin
        self.balance -= loss
        self.realized_pnl -= loss
        position.realized -= loss
        self.stats(position.strategy).pnl -= loss
        self.liquidations[key] += 1
        trade = self._close(key, position, ts, exit_price=position.liquidation_price)
        self.track_equity(ts)
        return position, loss, trade

    # --- marks, drawdown, halts -------------------------------------------------------------

    def update_mark(self, exchange: str, symbol: str, price: float, ts: float) -> None:
        key = (exchange, symbol)
        # Called on every market event, and most (trades, depth, quote sizes) leave the mark as it
        # was. Equity moves only with a mark, or with fills/funding/liquidations, which track it
        # themselves; so an unchanged mark on the same day cannot change what track_equity keeps.
        if self.marks.get(key) == price and ts // risk.SECONDS_PER_DAY == self.day:
            return
        self.marks[key] = price
        if key in self.positions:
            self.track_equity(ts)

    def track_equity(self, ts: float) -> None:
        equity = self.equity()
        day = int(ts // risk.SECONDS_PER_DAY)
        if day != self.day:
            self._roll_day(day, equity, ts)
        if equity > self.high_water_mark:
            self.high_water_mark = equity
        drawdown = risk.drawdown_ratio(equity, self.high_water_mark)
        self.max_drawdown = max(self.max_drawdown, drawdown)
        self.day_max_drawdown = max(self.day_max_drawdown, drawdown)
        if drawdown >= self.limits.max_drawdown_ratio and not self.halted_drawdown:
            self.halted_drawdown, self.halted_drawdown_at = True, ts
            _log.warning("trading halted: max drawdown reached",
                         extra={"account": self.name, "drawdown_ratio": round(drawdown, 4)})
            self._tell_halted("max_drawdown", ts)
        if self.daily_pnl(equity) <= -self.limits.daily_loss_ratio * self.day_start_equity and self.halted_day != day:
            self.halted_day, self.halted_day_at = day, ts
            _log.warning("trading halted for the day: daily loss limit reached",
                         extra={"account": self.name, "daily_pnl_usdt": round(self.daily_pnl(equity), 2)})
            self._tell_halted("daily_loss", ts)
        if self.on_equity is not None:
            self.on_equity(self)

    def _roll_day(self, day: int, equity: float, ts: float) -> None:
        """Close the UTC day that ended: its return, each strategy's, then a new day from ``equity``."""
        closed = ClosedDay(self.day, self.day_start_equity, equity, self.day_max_drawdown)
        self.days.close(closed, {name: s.gross_profit - s.gross_loss for name, s in self.strategy_stats.items()})
        self.day, self.day_start_equity = day, equity
        self.day_max_drawdown = risk.drawdown_ratio(equity, self.high_water_mark)
        if self.observer is not None:
            self.observer.day_rolled(self, closed, ts)

    def _tell_halted(self, reason: str, ts: float) -> None:
        if self.observer is not None:
            self.observer.halted(self, reason, ts)

    def daily_pnl(self, equity: float | None = None) -> float:
        return (self.equity() if equity is None else equity) - self.day_start_equity

    @property
    def daily_loss_halted(self) -> bool:
        """The daily loss limit stops new entries for the rest of this UTC day (unless lifted)."""
        return self.halted_day == self.day and self.daily_halt_lifted_day != self.day

    @property
    def trading_halted(self) -> bool:
        return self.halted_drawdown or self.daily_loss_halted

    @property
    def halt_reason(self) -> str | None:
        """The halt in force: ``max_drawdown`` (it outlasts the day), ``daily_loss``, or None."""
        return "max_drawdown" if self.halted_drawdown else "daily_loss" if self.daily_loss_halted else None

    def lift_halt(self) -> tuple[str, ...]:
        """An operator's resume: lift the halts in force and return their reasons.

        A drawdown halt restarts the drawdown from the current equity (the high-water mark becomes
        it; ``max_drawdown`` keeps the history), so the limit guards a further fall instead of
        halting again at once. A daily-loss halt stays lifted for the rest of the UTC day. The
        journal's ``resume`` command applies the same rule to a stopped trader's file.
        """
        lifted = []
        if self.halted_drawdown:
            self.halted_drawdown, self.halted_drawdown_at = False, None
            self.high_water_mark = self.equity()
            lifted.append("max_drawdown")
        if self.daily_loss_halted:
            self.daily_halt_lifted_day = self.day
            lifted.append("daily_loss")
        return tuple(lifted)

    # --- sampling and risk ------------------------------------------------------------------

    def sample(self, ts: float) -> None:
        """Record one equity sample and recompute the cached risk figures."""
        self.track_equity(ts)
        equity = self.equity()
        self._equity_samples.append(equity)
        for key, price in self.marks.items():
            ring = self._price_samples.setdefault(key, _Ring(self.CORRELATION_SAMPLES + 1))
            ring.append(price)
        self._recompute(equity)

    def refresh_risk(self) -> None:
        """Recompute the cached risk figures now, without a sample (after a restore)."""
        self._recompute(self.equity())

    def _recompute(self, equity: float) -> None:
        cfg = self.risk_config
        dt, conf = cfg.sample_interval_seconds, cfg.confidence
        out: dict[str, object] = {"var": {}, "cvar": {}, "sharpe": None, "sortino": None,
                                  "strategy_sharpe": {}, "correlation": None}
        r = risk.returns(self._equity_samples.values())
        if r.size >= cfg.min_samples:
            out["var"] = {"historical": risk.var_historical(r, equity, dt, conf),
                          "parametric": risk.var_parametric(r, equity, dt, conf)}
            out["cvar"] = {"historical": risk.cvar_historical(r, equity, dt, conf),
                           "parametric": risk.cvar_parametric(r, equity, dt, conf)}
        out["sharpe"], out["sortino"], out["strategy_sharpe"] = (
            self.days.sharpe(), self.days.sortino(), self.days.strategy_sharpe())
        keys = [k for k in self.positions if k in self._price_samples]
        if len(keys) >= 2:
            n = min(len(self._price_samples[k]) for k in keys)
            if n >= 2:
                prices = np.column_stack([self._price_samples[k].values(n) for k in keys])
                directions = [1.0 if self.positions[k].quantity > 0 else -1.0 for k in keys]
                out["correlation"] = risk.max_pairwise_correlation(prices, cfg.correlation_min_returns, directions)
        self._risk = out

    # --- snapshot ---------------------------------------------------------------------------

    def snapshot(self, ts: float) -> AccountSnapshot:
        equity = self.equity()
        positions = []
        for key, p in self.positions.items():
            mark = self.marks.get(key, p.entry_price)
            liq = p.liquidation_price
            positions.append(PositionSnapshot(
                exchange=p.exchange, symbol=p.symbol, strategy=p.strategy, quantity=p.quantity,
                entry_price=p.entry_price, mark_price=mark, notional_usdt=abs(p.quantity) * mark,
                unrealized_pnl_usdt=p.unrealized(mark), margin_usdt=p.margin, leverage=p.leverage,
                liquidation_price=liq, liquidation_distance_ratio=risk.liquidation_distance_ratio(mark, liq) or 0.0,
                opened_at=p.opened_at, age_seconds=max(0.0, ts - p.opened_at)))
        strategies = []
        gross_profit = gross_loss = 0.0
        wins = losses = 0
        open_by_strategy: dict[str, float] = defaultdict(float)
        for p in positions:
            open_by_strategy[p.strategy] += p.unrealized_pnl_usdt
        for name, s in self.strategy_stats.items():
            strategies.append(StrategySnapshot(
                name=name, pnl_usdt=s.pnl + open_by_strategy.get(name, 0.0),
                sharpe_30d=self._risk["strategy_sharpe"].get(name), signals=dict(s.signals),
                wins=s.wins, losses=s.losses, last_evaluation_ts=dict(s.last_evaluation),
                last_order_ts=s.last_order_ts))
            gross_profit += s.gross_profit
            gross_loss += s.gross_loss
            wins += s.wins
            losses += s.losses
        notional = self.notional()
        margin_used = self.margin_used()
        limits = self.limits
        return AccountSnapshot(
            name=self.name, equity_usdt=equity, balance_usdt=self.balance, initial_equity_usdt=self.initial,
            high_water_mark_usdt=self.high_water_mark, day_start_equity_usdt=self.day_start_equity,
            daily_pnl_usdt=equity - self.day_start_equity, realized_pnl_usdt=self.realized_pnl,
            unrealized_pnl_usdt=equity - self.balance, funding_pnl_usdt=self.funding_pnl,
            commission_usdt=dict(self.commission),
            drawdown_ratio=risk.drawdown_ratio(equity, self.high_water_mark),
            max_drawdown_ratio=max(self.max_drawdown, risk.drawdown_ratio(equity, self.high_water_mark)),
            var_usdt=dict(self._risk["var"]), cvar_usdt=dict(self._risk["cvar"]),
            sharpe_30d=self._risk["sharpe"], sortino_30d=self._risk["sortino"],
            profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
            win_rate=wins / (wins + losses) if wins + losses else None,
            leverage=notional / equity if equity > 0 else 0.0, notional_usdt=notional,
            margin_used_usdt=margin_used, margin_free_usdt=equity - margin_used,
            correlation_max=self._risk["correlation"], trading_halted=self.trading_halted,
            limits=RiskLimitsSnapshot(limits.max_drawdown_ratio, limits.daily_loss_ratio, limits.var_usdt,
                                      limits.max_leverage, limits.max_position_usdt, limits.max_open_positions),
            positions=tuple(positions), strategies=tuple(strategies),
            orders=dict(self.orders), orders_by_type=dict(self.orders_by_type), volume_usdt=dict(self.volume),
            risk_refusals=dict(self.risk_refusals), liquidations=dict(self.liquidations),
            rejections=dict(self.rejections), paused=self.paused)

    @property
    def var_historical(self) -> float | None:
        return self._risk["var"].get("historical")

    @property
    def var_usdt(self) -> float | None:
        """The 1-day 99 % VaR the limits gate refuses orders on: the worse of the historical and
        parametric figures, as exported (``trader_var_usdt{method}``) and compared by
        TraderVaRAboveLimit (``max by (account) (trader_var_usdt)``), so a refusal and the alert
        read one number. None until enough samples exist."""
        values = self._risk["var"].values()
        return max(values) if values else None
