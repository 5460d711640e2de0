"""How long from a crash inside the trader to the message on each channel? The whole chain, N runs.

    .venv/bin/python benchmarks/alert_latency.py --compressed [--runs 5]   # ~1 min a run
    .venv/bin/python benchmarks/alert_latency.py --production [--runs 3]   # ~2-3 min a run

The real chain on 127.0.0.1: ``python -m trader`` running the crash drill (trader/drills.py) on
the sim feed; the real ``prometheus`` with the committed prometheus/prometheus.yml and rules;
the real ``alertmanager`` with the config ``python -m alertmanager.render`` makes; the real SMS
relay (``python -m alertmanager.sms``); stand-ins for Discord, Telegram, Twilio and an SMTP server
(tests/alertmanager/am_fakes.py, which answer as those services' documentation shows).

Each run is a new trader process on the same scrape target with its own account name, so each
alert is a new Alertmanager group (grouped by alertname, account, category) and waits its
``group_wait`` as a real first page does. The trader logs ``condition first held`` with the exact
moment (trader/conditions.py) when its drawdown first reaches the alert's limit (TraderDrawdownHigh),
when its risk gate halts it (TraderTradingHalted) and when the drill's position first comes
within the liquidation limit (TraderLiquidationClose). The latency of an alert on a channel is
from that moment to the stand-in receiving the first request that names the alert and the account.

Beside the measured p50/p95 it prints what the configuration implies for each alert: the trader's
scrape interval + the rule group's evaluation interval + the rule's ``for`` + the severity route's
``group_wait``. A condition that holds just after a scrape waits almost a whole scrape and
evaluation interval, one just before almost none, so measured figures fall between ``for +
group_wait`` and that sum, plus the send itself (milliseconds here; a real provider's API adds
its own round trip).

``--compressed``: scrape and evaluation every 1 s, group_wait 1 s (``render --group-wait``),
Prometheus' resend delay 1 s: the floor is then mostly the rules' own ``for``, which stays as
committed. ``--production``: every interval as committed (trader scraped every 5 s, rules every
5 s, critical group_wait 10 s); the first drill waits a minute for Prometheus' resend delay.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the stand-ins and process helpers live in tests/

from tests.alertmanager.am_fakes import FakeReceivers, start_receivers  # noqa: E402
from tests.alertmanager.am_stack import SmsRelayProcess, render_config  # noqa: E402
from tests.support.alertmanager import AlertmanagerServer  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.prometheus import PrometheusServer, stack_config  # noqa: E402
from tests.support.trader import TraderProcess  # noqa: E402

RELAY_TOKEN = "relay-token-for-the-latency-benchmark"
CHANNELS = ("discord", "telegram", "email", "sms")
# alert -> the condition the trader records for it (trader.vocabulary.CONDITIONS)
ALERTS = {"TraderDrawdownHigh": "drawdown", "TraderTradingHalted": "halted",
          "TraderLiquidationClose": "liquidation_distance"}
_POLL = 0.05  # seconds between looks at the stand-ins; deliveries carry their own arrival time


@dataclass(frozen=True)
class Mode:
    name: str
    scrape: str | None  # None: as committed
    evaluation: str | None
    group_wait: tuple[str, ...]  # render flags
    prometheus_flags: tuple[str, ...]
    first_delay: float  # seconds of healthy baseline before the first drill
    delay: float  # before later drills
    drill: dict  # trader config's drill section
    run_timeout: float


COMPRESSED = Mode("compressed", "1s", "1s", ("--group-wait", "1s", "--group-interval", "2s", "--repeat-interval", "1h"),
                  ("--rules.alert.resend-delay=1s",), 8.0, 8.0,
                  {"crash_over_seconds": 3, "duration_seconds": 90}, 150.0)
# The drill's own crash (35 % over 45 s) as committed; 60 s first: Prometheus 3 sends a rule
# manager's first alerts only once its resend delay (1 m by default) has passed since it started.
PRODUCTION = Mode("production", None, None, (), (), 65.0, 20.0, {"duration_seconds": 240}, 330.0)


def seconds(duration: str) -> float:
    """A Prometheus duration ("30s", "1m", "1m30s", "0s") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise SystemExit(f"alert_latency: cannot read the duration {duration!r}")
    return sum(float(n) * units[u] for n, u in parts)


# --- the stack ---------------------------------------------------------------------------


def prometheus_config(mode: Mode, trader: str, alertmanager: str) -> tuple[str, dict, dict]:
    """The committed config pointed at this trader (intervals as ``mode`` says), its rule files,
    and the parsed config (to read the intervals back)."""
    text, files = stack_config([trader], alertmanager)
    config = yaml.safe_load(text)
    if mode.evaluation:
        config["global"]["evaluation_interval"] = mode.evaluation
    if mode.scrape:
        for job in config["scrape_configs"]:
            job.update(scrape_interval=mode.scrape, scrape_timeout=mode.scrape)
    return yaml.safe_dump(config, sort_keys=False), files, config


def configured_floor(config: dict, rendered: dict) -> dict[str, dict[str, float]]:
    """Per alert: scrape, evaluation, for, group_wait (seconds) as the running configs say."""
    trader_job = next(j for j in config["scrape_configs"] if j["job_name"] == "trader")
    scrape = seconds(trader_job.get("scrape_interval", config["global"]["scrape_interval"]))
    result = {}
    for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") in ALERTS:
                    severity = rule["labels"]["severity"]
                    route = next(r for r in rendered["route"]["routes"]
                                 if f'severity="{severity}"' in r.get("matchers", []))
                    result[rule["alert"]] = {
                        "scrape": scrape,
                        "evaluation": seconds(group.get("interval", config["global"]["evaluation_interval"])),
                        "for": seconds(rule.get("for", "0s")),
                        "group_wait": seconds(route.get("group_wait", rendered["route"]["group_wait"])),
                    }
    missing = set(ALERTS) - set(result)
    if missing:
        raise SystemExit(f"alert_latency: no rule for {sorted(missing)} in prometheus/rules")
    return result


# --- one run -----------------------------------------------------------------------------


def held_moments(trader: TraderProcess, account: str) -> dict[str, float]:
    """condition -> held_at, from the trader's "condition first held" log lines (first episode)."""
    moments: dict[str, float] = {}
    for line in trader.log_lines():
        if '"condition first held"' not in line:
            continue
        event = json.loads(line)
        if event.get("account") == account:
            moments.setdefault(event["condition"], float(event["held_at"]))
    return moments


def deliveries(fakes: FakeReceivers, alert: str, account: str, since: float) -> dict[str, float]:
    """channel -> when the stand-in received the first message naming ``alert`` and ``account``."""
    def names(text: str) -> bool:
        return alert in text and account in text

    found: dict[str, float] = {}
    http = {"discord": (fakes.discord, lambda r: r.body.decode(errors="replace")),
            "telegram": (fakes.telegram, lambda r: r.body.decode(errors="replace")),
            "sms": (fakes.twilio, lambda r: r.form.get("Body", ""))}
    for channel, (service, text_of) in http.items():
        times = [r.at for r in service.received if r.at >= since and names(text_of(r))]
        if times:
            found[channel] = min(times)
    for at, message in fakes.smtp.arrivals:
        body = message.get_body(("plain", "html"))
        text = str(message["Subject"]) + (body.get_content() if body is not None else "")
        if at >= since and names(text):
            found["email"] = min(at, found.get("email", at))
    return found


def one_run(number: int, mode: Mode, workdir: Path, port: int, fakes: FakeReceivers) -> dict[tuple[str, str], float]:
    """(alert, channel) -> seconds from the condition holding in the trader to the delivery."""
    account = f"latency{number}"
    config = workdir / f"{account}.yml"
    config.write_text(yaml.safe_dump({"accounts": [{"name": account}], "drill": mode.drill}))
    delay = mode.first_delay if number == 1 else mode.delay
    started = time.time()
    trader = TraderProcess(workdir / account, "--feed", "sim", "--exchanges", "binance", "--config", str(config),
                           "--drill", "crash", "--drill-delay", str(delay), "--seed", str(number), port=port)
    try:
        deadline = time.monotonic() + delay + mode.run_timeout
        while True:
            held = held_moments(trader, account)
            seen = {alert: deliveries(fakes, alert, account, started) for alert in ALERTS}
            if all(set(seen[a]) == set(CHANNELS) for a in ALERTS) and all(c in held for c in ALERTS.values()):
                break
            if time.monotonic() > deadline:
                missing = {a: sorted(set(CHANNELS) - set(seen[a])) for a in ALERTS if set(CHANNELS) - set(seen[a])}
                raise SystemExit(f"alert_latency: run {number}: after {delay + mode.run_timeout:.0f} s still "
                                 f"missing deliveries {missing}, conditions held: {sorted(held)}")
            time.sleep(_POLL)
    finally:
        trader.stop()
    return {(alert, channel): at - held[ALERTS[alert]] for alert in ALERTS for channel, at in seen[alert].items()}


# --- report ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: with few runs, a value that was measured, not interpolated."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-share * len(ordered) // 1)) - 1))]


def report(mode: Mode, floors: dict, runs: list[dict]) -> None:
    print(f"\nalert latency, {mode.name} intervals, {len(runs)} runs: from the condition holding in the trader "
          "to the first message on each channel stand-in")
    print(f"{'alert':24} {'scrape':>6} {'eval':>5} {'for':>5} {'g_wait':>6} {'floor':>6}   "
          + "  ".join(f"{c + ' p50/p95':>17}" for c in CHANNELS))
    for alert in ALERTS:
        f = floors[alert]
        low, floor = f["for"] + f["group_wait"], f["scrape"] + f["evaluation"] + f["for"] + f["group_wait"]
        cells = []
        for channel in CHANNELS:
            values = [run[(alert, channel)] for run in runs if (alert, channel) in run]
            cells.append(f"{statistics.median(values):7.2f}/{percentile(values, 0.95):6.2f} s" if values else "-")
        print(f"{alert:24} {f['scrape']:5.0f}s {f['evaluation']:4.0f}s {f['for']:4.0f}s {f['group_wait']:5.0f}s "
              f"{floor:5.0f}s   " + "  ".join(f"{c:>17}" for c in cells))
        print(f"{'':24} expected between for+group_wait = {low:.0f} s and the floor = {floor:.0f} s, plus the send")


# Alertmanager's integration names for our channels: Discord takes the Slack-compatible webhook,
# the SMS relay a webhook (alertmanager/receivers.py).
_INTEGRATIONS = {"discord": "slack", "telegram": "telegram", "email": "email", "sms": "webhook"}


def send_seconds(alertmanager: AlertmanagerServer) -> dict[str, float]:
    """channel -> mean seconds of one notification, from Alertmanager's own
    ``alertmanager_notification_latency_seconds`` histogram (the "send" of the floor)."""
    text = requests.get(f"{alertmanager.url}/metrics", timeout=10).text
    totals: dict[str, list[float]] = {}
    for match in re.finditer(r'^alertmanager_notification_latency_seconds_(sum|count)\{[^}]*integration="([^"]+)"[^}]*\} (\S+)$',
                             text, re.MULTILINE):
        kind, integration, value = match.groups()
        totals.setdefault(integration, [0.0, 0.0])[kind == "count"] += float(value)
    return {channel: totals[name][0] / totals[name][1] for channel, name in _INTEGRATIONS.items()
            if name in totals and totals[name][1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--compressed", action="store_true", help="1 s scrape/evaluation/group_wait (about 1 min a run)")
    which.add_argument("--production", action="store_true", help="the committed intervals (about 2-3 min a run)")
    parser.add_argument("--runs", type=int, default=None, help="drills to measure (default 5 compressed, 3 production)")
    args = parser.parse_args(argv)
    mode = COMPRESSED if args.compressed else PRODUCTION
    runs_wanted = args.runs or (5 if args.compressed else 3)
    if runs_wanted < 1:
        parser.error(f"--runs {runs_wanted}: expected 1 or more")
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp, ExitStack() as cleanup:
        workdir = Path(tmp)
        fakes = cleanup.enter_context(start_receivers())
        relay = SmsRelayProcess(workdir, fakes.relay_env(RELAY_TOKEN))
        cleanup.callback(relay.stop)
        env = fakes.render_env(f"{relay.url}/alert", RELAY_TOKEN)
        env.pop("SLACK_WEBHOOK_URL")  # the four channels a user configures; Slack is the same integration as Discord
        rendered = render_config(workdir / "am", env, *mode.group_wait)
        alertmanager = AlertmanagerServer(workdir / "am-run", rendered.config_text, rendered.files)
        cleanup.callback(alertmanager.stop)
        port = free_port()
        text, files, config = prometheus_config(mode, f"127.0.0.1:{port}", f"127.0.0.1:{alertmanager.port}")
        prometheus = PrometheusServer(workdir / "prometheus", text, files, flags=mode.prometheus_flags)
        cleanup.callback(prometheus.stop)
        floors = configured_floor(config, yaml.safe_load(rendered.config_text))
        runs = []
        for number in range(1, runs_wanted + 1):
            run = one_run(number, mode, workdir, port, fakes)
            runs.append(run)
            print(f"run {number}: " + ", ".join(
                f"{alert} {min(run[(alert, c)] for c in CHANNELS):.1f}-{max(run[(alert, c)] for c in CHANNELS):.1f} s"
                for alert in ALERTS), flush=True)
        report(mode, floors, runs)
        sends = send_seconds(alertmanager)
        print("send (Alertmanager's mean notification latency, to the stand-ins; the SMS includes the relay's call "
              "to Twilio): " + ", ".join(f"{c} {sends[c] * 1000:.0f} ms" for c in CHANNELS if c in sends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
