"""``--notify``: a clearly marked test alert through Alertmanager to every configured channel,
judged from Alertmanager's own counters, then resolved.

The alert is ``StackTestNotification`` with ``severity="test"``: the route
``alertmanager/routing.py`` adds for it sends it to the one channel its ``channel`` label names
and to nothing else, so it never pages through the severity routes. Alertmanager's counters are
per *integration* (``alertmanager_notifications_total``, ``..._failed_total`` by ``reason``,
``alertmanager_notification_requests_total``, ``..._failed_total``); two channels can share one
(Discord and Slack are both ``slack``, SMS and the dead man's switch both ``webhook``), so the
channels are tested in rounds in which each integration serves one channel only, and a round in
which something else used the same integration (a real alert, the Watchdog's ping) is repeated.

A channel is *delivered* when its integration made a successful request, *failed* when
Alertmanager gave up on it (after max(group_interval, 10 s) of retries; the ``reason`` label
says why) or when every attempt failed until the deadline. A failed channel's test alert is then
silenced, so Alertmanager stops retrying it while the other rounds run. At the end every test
alert is resolved (posted again with ``endsAt`` = now); the channels with ``send_resolved`` get a
"resolved" message.

    >>> plan_rounds([Channel("discord", (("slack", 1),)), Channel("slack", (("slack", 1),)),
    ...              Channel("email", (("email", 1),))])
    [['discord', 'email'], ['slack']]
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from alertmanager.routing import TEST_ALERTNAME, TEST_CHANNEL_LABEL, TEST_RUN_LABEL, TEST_SEVERITY
from doctor.channels import Channel, channels_of, probe_receivers, seconds, probe_route
from doctor.checks.alertmanager import RENDER_FIX
from doctor.http import BadAnswer, HttpClient, Unreachable, json_of
from doctor.metrics_text import samples
from doctor.result import Findings

__all__ = ["send_test_notifications", "plan_rounds", "Counters", "judge", "Verdict", "probe_alert"]

# One round: Alertmanager sends at once (group_wait 0s) and gives up on a failing channel after
# max(group_interval, 10 s); 25 s leaves room for the retry that reports the reason.
ROUND_SECONDS = 25.0
POLL_SECONDS = 0.5
# Alertmanager's minimum notification timeout (notify.MinTimeout): a flush retries for
# max(group_interval, 10 s). One more flush of a failed test alert may already run when its
# silence is made, so a later round on the same integration waits that long plus a margin.
MIN_GIVE_UP_SECONDS = 10.0
SILENCE_MINUTES = 15  # long enough to outlive every retry of a failed test alert; then it expires

# What a failed channel's fix is: the variables that configure it (alertmanager/README.md).
CHANNEL_FIX = {
    "discord": "check DISCORD_WEBHOOK_URL in .env",
    "telegram": "check TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID in .env (send the bot a message first)",
    "email": "check SMTP_SMARTHOST, SMTP_USERNAME, SMTP_PASSWORD and SMTP_REQUIRE_TLS in .env",
    "sms": "check SMS_RELAY_URL and SMS_RELAY_TOKEN in .env and docker compose logs sms-relay",
    "slack": "check SLACK_WEBHOOK_URL in .env",
    "deadmansswitch": "check DEADMANSSWITCH_URL in .env",
}
REASONS = {
    "serverError": "the channel's server answered 5xx",
    "clientError": "the channel refused the request (4xx: wrong URL, token or chat id)",
    "contextDeadlineExceeded": "no answer in time",
    "contextCanceled": "Alertmanager cancelled the send",
    "other": "the connection failed or another error",
}


@dataclass(frozen=True)
class Counters:
    """Alertmanager's notification counters by integration at one moment."""

    notifications: dict[str, float] = field(default_factory=dict)
    failed: dict[tuple[str, str], float] = field(default_factory=dict)  # (integration, reason)
    requests: dict[str, float] = field(default_factory=dict)
    requests_failed: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Counters":
        counters = cls()
        targets = {"alertmanager_notifications_total": counters.notifications,
                   "alertmanager_notification_requests_total": counters.requests,
                   "alertmanager_notification_requests_failed_total": counters.requests_failed}
        for sample in samples(text):
            integration = sample.labels.get("integration")
            if integration is None:
                continue
            if sample.name == "alertmanager_notifications_failed_total":
                key = (integration, sample.labels.get("reason", "other"))
                counters.failed[key] = counters.failed.get(key, 0.0) + sample.value
            elif sample.name in targets:
                targets[sample.name][integration] = targets[sample.name].get(integration, 0.0) + sample.value
        return counters

    def minus(self, before: "Counters") -> "Counters":
        def diff(now: dict, then: dict) -> dict:
            return {key: value - then.get(key, 0.0) for key, value in now.items() if value - then.get(key, 0.0)}
        return Counters(diff(self.notifications, before.notifications), diff(self.failed, before.failed),
                        diff(self.requests, before.requests), diff(self.requests_failed, before.requests_failed))


@dataclass(frozen=True)
class Verdict:
    status: str  # "delivered", "failed", "unclear"
    detail: str


def judge(channel: Channel, delta: Counters, *, final: bool) -> Verdict | None:
    """What ``delta`` (the counters' change since the round began) says about ``channel``; None
    while it is still undecided and ``final`` is False."""
    verdicts = []
    for kind, count in channel.integrations:
        attempts = delta.notifications.get(kind, 0.0)
        requests, failed_requests = delta.requests.get(kind, 0.0), delta.requests_failed.get(kind, 0.0)
        gave_up = {reason: n for (integration, reason), n in delta.failed.items() if integration == kind}
        if gave_up:
            reason = max(gave_up, key=gave_up.get)
            why = f"{REASONS.get(reason, reason)} ({reason})"
            verdicts.append(Verdict("failed", f"through the {kind} integration: Alertmanager gave up after "
                                              f"{failed_requests:.0f} attempts: {why}"))
        elif attempts > count:
            verdicts.append(Verdict("unclear", f"another notification used the {kind} integration at the same time"))
        elif attempts == count and requests - failed_requests >= count:
            verdicts.append(Verdict("delivered", f"through the {kind} integration ({requests - failed_requests:.0f} "
                                                 "request accepted)"))
        elif not final:
            return None
        elif failed_requests:
            verdicts.append(Verdict("failed", f"through the {kind} integration: {failed_requests:.0f} attempts "
                                              "failed, Alertmanager is still retrying"))
        elif not attempts:
            verdicts.append(Verdict("failed", f"through the {kind} integration: Alertmanager did not try to send "
                                              "it (the test alert was silenced, inhibited, or not routed here)"))
        else:
            verdicts.append(Verdict("failed", f"through the {kind} integration: no request went out"))
    for status in ("failed", "unclear"):
        if any(v.status == status for v in verdicts):
            return Verdict(status, "; ".join(v.detail for v in verdicts if v.status == status))
    return Verdict("delivered", "; ".join(v.detail for v in verdicts))


def plan_rounds(channels: list[Channel]) -> list[list[str]]:
    """Channel names in rounds in which no integration serves two channels."""
    rounds: list[tuple[set[str], list[str]]] = []
    for channel in channels:
        kinds = {kind for kind, _ in channel.integrations}
        for used, names in rounds:
            if not used & kinds:
                used |= kinds
                names.append(channel.name)
                break
        else:
            rounds.append((set(kinds), [channel.name]))
    return [names for _, names in rounds]


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def probe_alert(channel: str, run_id: str, starts_at: datetime, ends_at: datetime | None = None) -> dict:
    """The postable alert (POST /api/v2/alerts) that tests ``channel``."""
    alert = {
        "labels": {"alertname": TEST_ALERTNAME, "severity": TEST_SEVERITY, "category": "meta",
                   TEST_CHANNEL_LABEL: channel, TEST_RUN_LABEL: run_id},
        "annotations": {
            "summary": f"TEST from the stack doctor for {channel}: ignore it, nothing is wrong",
            "description": f"Sent by `python -m doctor --notify` (run {run_id}) at "
                           f"{starts_at:%Y-%m-%d %H:%M} UTC to check that Alertmanager delivers to {channel}. "
                           "It resolves by itself within a minute.",
            "runbook_url": "README.md",
            "dashboard_url": "/d/trader-system?viewPanel=6",
        },
        "startsAt": _iso(starts_at),
    }
    if ends_at is not None:
        alert["endsAt"] = _iso(ends_at)
    return alert


@dataclass
class _Run:
    http: HttpClient
    api: str
    run_id: str
    started: datetime
    deadline: float
    sleep: Callable[[float], None]
    give_up_seconds: float = MIN_GIVE_UP_SECONDS + 1.0
    quiet_after: dict[str, float] = field(default_factory=dict)  # integration -> when it is ours again
    outcomes: dict[str, Verdict] = field(default_factory=dict)
    silences: list[str] = field(default_factory=list)
    posted: list[tuple[str, str]] = field(default_factory=list)  # (channel, run label) of every test alert

    def counters(self) -> Counters:
        response = self.http.get(f"{self.api}/metrics")
        if response.status_code != 200:
            raise BadAnswer(f"{self.api}/metrics answered HTTP {response.status_code}")
        return Counters.parse(response.text)

    def post(self, alerts: list[dict]) -> None:
        response = self.http.post_json(f"{self.api}/api/v2/alerts", alerts)  # 200 with an empty body
        if response.status_code != 200:
            raise BadAnswer(f"POST {self.api}/api/v2/alerts answered HTTP {response.status_code}: "
                            f"{' '.join(response.text.split())[:160]}")

    def round(self, channels: list[Channel], run_label: str) -> list[Channel]:
        """Test ``channels`` at once; returns those whose result was unclear. ``run_label`` is new
        for a repeated round: Alertmanager would not notify an alert it already notified."""
        kinds = {kind for channel in channels for kind, _ in channel.integrations}
        wait = max((self.quiet_after.get(kind, 0.0) for kind in kinds), default=0.0) - time.monotonic()
        if wait > 0:
            self.sleep(min(wait, max(0.0, self.deadline - time.monotonic())))
        before = self.counters()
        self.post([probe_alert(c.name, run_label, self.started) for c in channels])
        self.posted += [(c.name, run_label) for c in channels]
        round_deadline = min(self.deadline, time.monotonic() + ROUND_SECONDS)
        pending = {c.name: c for c in channels}
        while pending:
            final = time.monotonic() >= round_deadline
            delta = self.counters().minus(before)
            for name, channel in list(pending.items()):
                verdict = judge(channel, delta, final=final)
                if verdict is not None:
                    self.outcomes[name] = verdict
                    del pending[name]
            if pending and not final:
                self.sleep(POLL_SECONDS)
        for channel in channels:
            if self.outcomes[channel.name].status == "failed":
                self.silence(channel.name, run_label)
                for kind, _ in channel.integrations:
                    self.quiet_after[kind] = time.monotonic() + self.give_up_seconds
        return [c for c in channels if self.outcomes[c.name].status == "unclear"]

    def silence(self, channel: str, run_label: str) -> None:
        now = datetime.now(timezone.utc)
        body = {"matchers": [{"name": name, "value": value, "isRegex": False, "isEqual": True}
                             for name, value in (("alertname", TEST_ALERTNAME), (TEST_CHANNEL_LABEL, channel),
                                                 (TEST_RUN_LABEL, run_label))],
                "startsAt": _iso(now), "endsAt": _iso(now + timedelta(minutes=SILENCE_MINUTES)),
                "createdBy": "stack doctor", "comment": f"doctor --notify: {channel} failed; muted so Alertmanager "
                                                        "stops retrying the test alert"}
        self.silences.append(json_of(self.http.post_json(f"{self.api}/api/v2/silences", body)).get("silenceID", "?"))

    def resolve(self) -> list[str]:
        """Post every test alert with endsAt = now; returns the channels Alertmanager still shows active."""
        now = datetime.now(timezone.utc)
        self.post([probe_alert(name, label, self.started, ends_at=now) for name, label in self.posted])
        still = json_of(self.http.get(f"{self.api}/api/v2/alerts", params={
            "filter": [f'alertname="{TEST_ALERTNAME}"', f'{TEST_RUN_LABEL}=~"{self.run_id}.*"']}))
        return sorted({a["labels"].get(TEST_CHANNEL_LABEL, "?") for a in still})


def _report(found: Findings, run: _Run, channels: list[Channel]) -> None:
    for channel in channels:
        verdict = run.outcomes.get(channel.name, Verdict("unclear", "the deadline came before its round"))
        fix = CHANNEL_FIX.get(channel.name, "check the channel's variables in .env") + \
            ", then docker compose up -d; run the doctor --notify again"
        if verdict.status == "delivered":
            found.ok(channel.name, f"delivered {verdict.detail}")
        elif verdict.status == "failed":
            found.fail(channel.name, f"not delivered {verdict.detail}",
                       cause="Alertmanager could not hand the test alert to this channel", fix=fix)
        else:
            found.fail(channel.name, f"could not tell: {verdict.detail}",
                       cause="something else (a real alert, the Watchdog) used the same integration during the test",
                       fix="run the doctor --notify again")


def send_test_notifications(http: HttpClient, url: str, *, timeout: float = 60.0,
                            sleep: Callable[[float], None] = time.sleep) -> Findings:
    """Test every channel Alertmanager at ``url`` has; one check per channel, plus the resolve."""
    found = Findings("Notify", url, required=True)
    api = url.rstrip("/")
    try:
        original = (json_of(http.get(f"{api}/api/v2/status")).get("config") or {}).get("original") or ""
        channels, routed = channels_of(original), probe_receivers(original)
        if not channels:
            found.fail("channels", "no channel configured: there is nobody to notify",
                       cause="no channel variable is set in .env",
                       fix="cp .env.example .env, set a channel, then docker compose up -d")
            return found
        if not routed:
            found.fail("test route", f"the loaded configuration has no route for {TEST_ALERTNAME}",
                       cause="alertmanager.yml was rendered by an older version", fix=RENDER_FIX)
            return found
        testable = [c for c in channels if routed.get(c.name) == c.name]
        for channel in channels:
            if channel not in testable:
                found.fail(channel.name, f"no test route reaches {channel.name}", cause="a hand-edited receiver",
                           fix=RENDER_FIX)
        group_interval = seconds((probe_route(original) or {}).get("group_interval", "5m"))
        run = _Run(http, api, run_id=datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(2),
                   started=datetime.now(timezone.utc), deadline=time.monotonic() + timeout, sleep=sleep,
                   give_up_seconds=max(group_interval, MIN_GIVE_UP_SECONDS) + 1.0)
        by_name = {c.name: c for c in testable}
        unclear: list[Channel] = []
        for names in plan_rounds(testable):
            if time.monotonic() < run.deadline:
                unclear += run.round([by_name[n] for n in names], run.run_id)
        for names in plan_rounds(unclear):  # once more for the rounds something else disturbed
            if time.monotonic() < run.deadline:
                run.round([by_name[n] for n in names], f"{run.run_id}-again")
        _report(found, run, testable)
        still = run.resolve()
        if still:
            found.fail("resolved", f"test alerts still active for {', '.join(still)}",
                       cause="Alertmanager did not take the resolve", fix="open http://localhost:9093 and expire them",
                       required=False)
        else:
            muted = f"; failed channels muted for {SILENCE_MINUTES} min (silences {', '.join(run.silences)})" \
                if run.silences else ""
            found.ok("resolved", f"test alerts of run {run.run_id} resolved{muted}", required=False)
    except (Unreachable, BadAnswer) as error:
        found.fail("test notification", str(error), cause="Alertmanager stopped answering during the test",
                   fix=RENDER_FIX)
    return found
