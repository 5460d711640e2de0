"""Each drill makes its condition happen on the snapshot, through the real code path (timings shrunk:
1.5 s healthy baseline, 3 s condition; the CLI's are 60 s and 3 minutes)."""

from trader.events import DrillEnded, DrillStarted, OrderAccepted, OrderRejected
from tests.trader_core.sim_trader import FAST_SIM, run_trader


class Watch:
    """Snapshots taken while the drill is active, and the bus events of interest."""

    def __init__(self, *event_types):
        self.during = []
        self.after = []
        self.events = []
        self.types = event_types + (DrillStarted, DrillEnded)
        self._subscribed = False

    def __call__(self, trader):
        if not self._subscribed:
            for kind in self.types:
                trader.bus.subscribe(kind, self.events.append)
            self._subscribed = True
        snap = trader.snapshot()
        if trader.drill.active:
            self.during.append(snap)
        elif trader.drill.ended_at is not None:
            self.after.append(snap)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def test_crash_drill_deep_drawdown_close_to_liquidation_and_halted():
    watch = Watch()
    trader = run_trader(FAST_SIM, 7.5, drill="crash", probe=watch)
    assert len(watch.of(DrillStarted)) == 1 and len(watch.of(DrillEnded)) == 1
    assert watch.during and watch.after
    first = watch.during[0]
    btc_before = next(m for m in first.markets if m.symbol == "BTCUSDT").best_bid
    # the fall takes 1 s and the sim's mark price (what PnL uses) ticks once a second: from then
    # on the condition must hold for the rest of the drill
    settled = [s for s in watch.during if s.ts >= trader.drill.started_at + 2.1]
    assert len(settled) >= 8
    for snap in settled:
        (account,) = snap.accounts
        btc = next(m for m in snap.markets if m.symbol == "BTCUSDT").best_bid
        assert btc <= btc_before * 0.70, "prices fell less than 30 %"
        assert account.drawdown_ratio >= 0.20
        assert account.trading_halted
        drill_position = next(p for p in account.positions if p.strategy == "drill")
        assert drill_position.quantity > 0 and drill_position.liquidation_distance_ratio < 0.05
        assert snap.drills["crash"] is True
    (account,) = trader.snapshot().accounts
    assert account.liquidations.get(("binance", "BTCUSDT"), 0) == 0  # held through the fall, not liquidated
    assert account.risk_refusals.get("max_drawdown", 0) > 0  # strategies kept trying and were refused
    assert account.max_drawdown_ratio >= 0.20


def test_feed_outage_drill_disconnects_the_feed_then_it_reconnects():
    watch = Watch()
    trader = run_trader(FAST_SIM, 6.0, drill="feed-outage", probe=watch)
    later = [s for s in watch.during if s.ts >= trader.drill.started_at + 0.3]
    assert later and all(not s.feeds[0].connected and s.feeds[0].state == "backoff" for s in later)
    # no message during the outage: the newest message gets older
    newest = [max(m.last_message_ts for m in s.markets) for s in later]
    assert newest[-1] == newest[0] and later[-1].ts - newest[-1] >= 2.5
    assert watch.after and watch.after[-1].feeds[0].connected
    assert watch.after[-1].feeds[0].reconnects == 1
    assert watch.during[0].drills["feed-outage"] and not watch.after[-1].drills["feed-outage"]


def test_api_errors_drill_fails_a_fifth_of_requests():
    watch = Watch(OrderRejected)
    trader = run_trader(FAST_SIM, 6.0, drill="api-errors", probe=watch)
    start, end = watch.during[0].api_requests, watch.during[-1].api_requests
    ok = sum(end[k] - start[k] for k in end if k[2] == "ok")
    errors = sum(end[k] - start[k] for k in end if k[2] == "error")
    assert ok + errors >= 10
    assert errors / (ok + errors) >= 0.20
    rejected = [e for e in watch.of(OrderRejected) if trader.drill.started_at <= e.ts <= trader.drill.ended_at]
    assert any(e.reason == "api_error" for e in rejected)
    (account,) = trader.snapshot().accounts
    assert sum(n for (_, _, _, status), n in account.orders.items() if status == "rejected") > 0


def test_latency_drill_makes_round_trips_slower_than_a_second():
    watch = Watch(OrderAccepted)
    trader = run_trader(FAST_SIM, 7.0, drill="latency", probe=watch)
    accepted = [e for e in watch.of(OrderAccepted) if e.ts >= trader.drill.started_at + 1.2]
    during = [e for e in accepted if e.ts <= trader.drill.ended_at]
    assert during and all(e.latency > 1.0 for e in during)
    before = [e for e in watch.of(OrderAccepted) if e.ts < trader.drill.started_at]
    assert before and all(e.latency <= 0.1 for e in before)


def test_strategy_stall_drill_freezes_the_heartbeat_while_market_data_flows():
    # Alive but not trading: the strategies' last evaluation stops moving, the feed does not.
    watch = Watch()
    trader = run_trader(FAST_SIM, 6.0, drill="strategy-stall", probe=watch)
    later = [s for s in watch.during if s.ts >= trader.drill.started_at + 0.3]
    assert len(later) >= 2 and watch.after

    def heartbeats(snap):
        (account,) = snap.accounts
        return {s.name: max(s.last_evaluation_ts.values()) for s in account.strategies if s.last_evaluation_ts}

    before = heartbeats(later[0])
    assert set(before) == {"momentum", "mean_reversion"}
    assert heartbeats(later[-1]) == before, "a stalled strategy evaluated"
    assert all(later[-1].ts - ts >= 2.0 for ts in before.values())
    newest = [max(m.last_message_ts for m in s.markets) for s in later]
    assert newest[-1] - newest[0] >= 2.0, "market data stopped too: the drill must stall strategies only"
    (account,) = later[-1].accounts
    assert not account.trading_halted and not account.paused
    # After the drill the heartbeat moves again.
    assert all(heartbeats(watch.after[-1])[name] > ts for name, ts in before.items())
    assert later[0].drills["strategy-stall"] and not watch.after[-1].drills["strategy-stall"]
