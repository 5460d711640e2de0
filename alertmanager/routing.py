"""The routing tree, the timing of notifications and the inhibition rules.

Who gets paged for what (docs/architecture.md "Alerts"):

| severity | channels                                  |
|----------|-------------------------------------------|
| critical | SMS, Telegram, Discord, e-mail (+ Slack)  |
| warning  | Discord, Telegram (+ Slack)               |
| info     | Discord                                   |
| none     | Watchdog only: the dead man's switch      |
| test     | ``StackTestNotification`` (``python -m doctor --notify``): the one channel its ``channel`` label names |

Each severity is one route whose children are one route per channel (``continue: true``), so
``amtool config routes test`` names every channel an alert reaches, and a channel left unset is
simply absent. A severity route with no channel left keeps the ``blackhole`` receiver.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Timing", "SEVERITY_TIMING", "WATCHDOG_TIMING", "TEST_TIMING", "GROUP_BY", "SEVERITY_CHANNELS",
           "TEST_ALERTNAME", "TEST_SEVERITY", "TEST_CHANNEL_LABEL", "TEST_RUN_LABEL",
           "route_tree", "inhibit_rules", "BLACKHOLE"]

BLACKHOLE = "blackhole"

# One notification per alert, per trader, per account, per category: two accounts (or two traders'
# accounts both named "main") in drawdown are two pages, each needing its own action, but fifty
# symbols of one stale feed are one message.
GROUP_BY = ["alertname", "trader", "account", "category"]


@dataclass(frozen=True)
class Timing:
    group_wait: str       # first notification of a new group waits this long to gather siblings
    group_interval: str   # a changed group (new alert, resolved alert) is re-sent at most this often
    repeat_interval: str  # an unchanged, still-firing group is repeated (a reminder) this often


SEVERITY_TIMING = {
    # A page: 10 s lets the alerts of one incident (drawdown, daily loss, halt all fire from one
    # crash) arrive together without delaying the page noticeably. New alerts joining the incident
    # are told within 2 min. A reminder every hour while it still fires: enough to wake someone
    # who slept through the first SMS, not so often that the phone gets muted. The SMS relay's
    # dedupe window (50 min) is set below this hour so the reminder does go out.
    "critical": Timing(group_wait="10s", group_interval="2m", repeat_interval="1h"),
    # Needs attention today, not this minute. 5 min between updates is the seeds' "one alert per
    # category and severity per 5 minutes"; a reminder every 4 h keeps it on the screen.
    "warning": Timing(group_wait="30s", group_interval="5m", repeat_interval="4h"),
    # Context for later reading (market anomalies): batched over 15 min, reminded once a day.
    "info": Timing(group_wait="1m", group_interval="15m", repeat_interval="24h"),
}

# The Watchdog always fires; the dead man's switch expects a ping every minute and raises its own
# alarm when pings stop (Prometheus, Alertmanager or the network is down). Alertmanager checks the
# repeat only when a group_interval tick comes, and compares with the time of the last send, which
# is a little after the previous tick: a repeat_interval equal to the tick would skip every other
# tick and ping every 2 min. Slightly shorter than the tick gives one ping per minute.
WATCHDOG_TIMING = Timing(group_wait="0s", group_interval="1m", repeat_interval="50s")

# The test notification of `python -m doctor --notify`: one alert per channel, its `channel` label
# naming the receiver, so the doctor can tell from Alertmanager's per-integration counters which
# channel delivered (Discord and Slack are both the "slack" integration, SMS and the dead man's
# switch both "webhook"). Its severity matches no severity route: it never pages for real.
TEST_ALERTNAME = "StackTestNotification"
TEST_SEVERITY = "test"
TEST_CHANNEL_LABEL = "channel"
TEST_RUN_LABEL = "run"  # one value per doctor run: an earlier run's group never swallows this one
# Sent at once; a failing channel is retried within group_interval (Alertmanager gives up on a
# notification after max(group_interval, 10 s)), so the doctor knows the outcome within ~15 s.
TEST_TIMING = Timing(group_wait="0s", group_interval="10s", repeat_interval="1h")

# The channels of each severity, in the order they are tried (all are sent in parallel).
SEVERITY_CHANNELS = {
    "critical": ["sms", "telegram", "discord", "email", "slack"],
    "warning": ["discord", "telegram", "slack"],
    "info": ["discord"],
}


def _timing(route: dict, timing: Timing) -> dict:
    route.update(group_wait=timing.group_wait, group_interval=timing.group_interval,
                 repeat_interval=timing.repeat_interval)
    return route


def route_tree(enabled: set[str], override: Timing | None = None) -> dict:
    """The ``route:`` block for the channels in ``enabled``.

    ``override`` replaces every interval (tests use seconds instead of minutes); the committed
    values above are what a deployment gets.
    """
    def timing_of(timing: Timing) -> Timing:
        if override is None:
            return timing
        return replace(timing, **{k: v for k, v in vars(override).items() if v})

    watchdog = _timing({
        "matchers": ['alertname="Watchdog"'],
        "receiver": "deadmansswitch" if "deadmansswitch" in enabled else BLACKHOLE,
        "group_by": ["alertname"],
    }, timing_of(WATCHDOG_TIMING))
    routes = [watchdog]
    for severity, channels in SEVERITY_CHANNELS.items():
        route = _timing({"matchers": [f'severity="{severity}"'], "receiver": BLACKHOLE},
                        timing_of(SEVERITY_TIMING[severity]))
        children = [{"receiver": channel, "continue": True} for channel in channels if channel in enabled]
        if children:
            route["routes"] = children
        routes.append(route)
    # severity="none" without being the Watchdog is a heartbeat of something else: nobody reads it.
    routes.append({"matchers": ['severity="none"'], "receiver": BLACKHOLE})
    routes.append(_test_route(enabled, timing_of(TEST_TIMING)))
    # The root catches an alert without a known severity (a rule written without one): better a
    # warning's channels than silence, so the mistake is seen.
    root = _timing({"receiver": BLACKHOLE, "group_by": GROUP_BY}, timing_of(SEVERITY_TIMING["warning"]))
    fallback = [{"receiver": c, "continue": True} for c in SEVERITY_CHANNELS["warning"] if c in enabled]
    if fallback:
        routes.append({"receiver": BLACKHOLE, "routes": fallback})
    root["routes"] = routes
    return root


def _test_route(enabled: set[str], timing: Timing) -> dict:
    """StackTestNotification reaches the channel its ``channel`` label names, and nothing else."""
    route = _timing({
        "matchers": [f'alertname="{TEST_ALERTNAME}"'],
        "receiver": BLACKHOLE,
        "group_by": ["alertname", TEST_CHANNEL_LABEL, TEST_RUN_LABEL],
    }, timing)
    channels = [*dict.fromkeys(c for chans in SEVERITY_CHANNELS.values() for c in chans), "deadmansswitch"]
    children = [{"matchers": [f'{TEST_CHANNEL_LABEL}="{channel}"'], "receiver": channel}
                for channel in channels if channel in enabled]
    if children:
        route["routes"] = children
    return route


def inhibit_rules() -> list[dict]:
    return [
        {
            # One problem, one page: a critical silences the warning and info of the same alert
            # (the host CPU and budget-burn alerts exist at two severities) for the same account.
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["alertname", "trader", "account"],
        },
        {
            # The trader is down or its metrics are gone: its feed, market data, orders and risk
            # figures go stale or absent too. Those alerts are consequences; the cause is the one
            # to act on. Only that trader's: another trader scraped by the same Prometheus keeps
            # paging (the `trader` label, prometheus/README.md "Several traders").
            "source_matchers": ['alertname=~"TraderTargetDown|TraderMetricsAbsent"'],
            "target_matchers": [
                'category=~"trading|risk|execution|market|system"',
            ],
            "equal": ["trader"],
        },
    ]
