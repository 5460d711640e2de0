"""``python -m tuning ALERTNAME``: how often would this alert have fired, and how many notifications
would that have been per channel, for the current threshold or candidate values?

    python -m tuning TraderDrawdownHigh --sweep 0.05:0.20:0.05 --since 7d --pages-per-week 2
    python -m tuning TraderDrawdownHigh --threshold 0.10 0.12 --replay drill:crash
    python -m tuning TraderDrawdownHigh --apply 0.12 --reload

Exit codes: 0 done; 2 bad input or an unusable service (one line on stderr naming it; nothing
changed); 1 ``--apply`` refused by promtool or the reload (the rule file is as it was).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn, Sequence

import yaml

from stacklog import configure_logging

from .am_config import DEFAULT_SMS_RELAY_URL, load_alertmanager_config
from .apply import ApplyRefused, apply_value
from .binaries import find_binary
from .chart import sweep_chart
from .errors import TuningError
from .evaluate import Plan, evaluate
from .prom_api import PrometheusAPI
from .replay import ReplayTSDB
from .report import Context, as_json, table
from .rules import RuleSet, Threshold, selectors_of
from .timeparse import format_time, parse_duration, parse_number, parse_sweep, parse_time

__all__ = ["main", "build_parser"]

_log = logging.getLogger("tuning")


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _OneLineParser(prog="python -m tuning", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("alert", metavar="ALERTNAME", help="an alerting rule of prometheus/rules/*.yml")
    values = p.add_mutually_exclusive_group()
    values.add_argument("--threshold", nargs="+", metavar="V", help="candidate values (default: the current one)")
    values.add_argument("--sweep", metavar="FROM:TO:STEP", help="every value from FROM to TO; writes the chart")
    values.add_argument("--apply", metavar="V", help="write V into the rule file's threshold line, check, (reload)")
    p.add_argument("--series", metavar="SELECTOR",
                   help="which threshold to tune when the alert reads several, e.g. "
                        "'trader:host_cpu_limit:ratio{severity=\"critical\"}'")
    p.add_argument("--for", dest="hold", metavar="DURATION", help="evaluate with this `for` instead of the rule's")
    p.add_argument("--since", metavar="DURATION", help="the range: this long until now (default 7d; with "
                                                       "--replay: the whole replay)")
    p.add_argument("--from", dest="start", metavar="TIME", help="range start, RFC 3339 or unix seconds")
    p.add_argument("--to", dest="end", metavar="TIME", help="range end (default now / the replay's end)")
    p.add_argument("--prometheus", default="http://localhost:9090", metavar="URL", help="default %(default)s")
    p.add_argument("--replay", metavar="FILE|drill:NAME",
                   help="evaluate against a recording (e.g. ../shared/data/binance-usdm-btcusdt-20240808.jsonl.gz) "
                        "or a drill (drill:crash, drill:feed-outage, drill:api-errors, drill:latency) replayed on "
                        "simulated time into a temporary Prometheus")
    p.add_argument("--alertmanager-config", metavar="FILE",
                   help="the rendered alertmanager.yml (default: $ALERTMANAGER_CONFIG, else rendered now from the "
                        "environment with python -m alertmanager.render)")
    p.add_argument("--pages-per-week", type=float, metavar="N", help="recommend the value with at most N pages a week")
    p.add_argument("--out", metavar="PNG", help="write the chart here (a sweep writes tuning-ALERTNAME.png by default)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--reload", action="store_true", help="with --apply: POST /-/reload to --prometheus")
    p.add_argument("--rules", default="prometheus/rules/*.yml", metavar="GLOB", help="default %(default)s")
    p.add_argument("--prometheus-config", default="prometheus/prometheus.yml", metavar="FILE",
                   help="for the global evaluation_interval (default %(default)s)")
    p.add_argument("--log-level", default="WARNING", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return p


def _rule_files(pattern: str) -> list[Path]:
    path = Path(pattern)
    files = sorted(path.parent.glob(path.name)) if any(c in pattern for c in "*?[") else [path]
    files = [f for f in files if f.is_file()]
    if not files:
        raise TuningError(f"--rules = {pattern!r}: no rule file found")
    return files


def _global_interval(path: str) -> float:
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise TuningError(f"--prometheus-config = {path!r}: cannot read it ({error})") from None
    return parse_duration((config.get("global") or {}).get("evaluation_interval", "1m"),
                          f"{path} global.evaluation_interval")


def _pick_threshold(rules: RuleSet, alert, name: str, wanted: str | None) -> Threshold:
    found = rules.thresholds_read_by(alert)
    if not found:
        raise TuningError(f"alert {name!r} reads no threshold rule (its expression: {alert[0].expr.strip()!r}); "
                          "expected one that compares with a recorded threshold such as trader:drawdown_limit:ratio")
    if wanted is not None:
        chosen = [t for t in found if wanted in (t.selector, t.rule.name) or wanted.replace("'", '"') == t.selector]
        if len(chosen) != 1:
            raise TuningError(f"--series = {wanted!r}: expected one of {', '.join(t.selector for t in found)}")
        return chosen[0]
    if len(found) > 1:
        raise TuningError(f"alert {name!r} reads {len(found)} thresholds: choose one with --series "
                          f"({', '.join(t.selector for t in found)})")
    return found[0]


def _range(args, replay: ReplayTSDB | None) -> tuple[float, float]:
    if args.since and (args.start or args.end):
        raise TuningError("--since with --from/--to: expected one way of giving the range")
    end = parse_time(args.end, "--to") if args.end else (replay.end if replay else time.time())
    if args.start:
        start = parse_time(args.start, "--from")
    elif args.since:
        start = end - parse_duration(args.since, "--since")
    else:
        start = replay.start if replay else end - 7 * 86400
    if not end > start:
        raise TuningError(f"range {start:.0f} .. {end:.0f}: expected --from before --to")
    return start, end


def _alertmanager_config(args, workdir: Path):
    path = args.alertmanager_config or os.environ.get("ALERTMANAGER_CONFIG")
    if not path:
        out = workdir / "alertmanager.yml"
        done = subprocess.run([sys.executable, "-m", "alertmanager.render", "--out", str(out)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise TuningError(f"python -m alertmanager.render: {done.stderr.strip().splitlines()[-1][:300]}")
        path = str(out)
        label = "alertmanager.yml rendered from the environment"
    else:
        label = path
    if not Path(path).is_file():
        raise TuningError(f"--alertmanager-config = {path!r}: no such file")
    return load_alertmanager_config(Path(path), os.environ.get("SMS_RELAY_URL") or DEFAULT_SMS_RELAY_URL), label


def _candidates(args, threshold: Threshold) -> list[float]:
    if args.sweep:
        return parse_sweep(args.sweep)
    if args.threshold:
        return [parse_number(v, "--threshold") for v in args.threshold]
    return [threshold.value]


def _input_names(rules: RuleSet, alert) -> list[str]:
    thresholds = {t.rule.name for t in rules.thresholds}
    return sorted({s.name for rule in alert for s in selectors_of(rule.expr) if s.name and s.name not in thresholds})


def _apply(args, rules: RuleSet, threshold: Threshold) -> int:
    api = PrometheusAPI(args.prometheus) if args.reload else None
    tests_dir = threshold.rule.path.parent.parent / "tests"  # prometheus/rules/x.yml -> prometheus/tests/
    result = apply_value(threshold, args.apply, tests_dir=tests_dir, promtool=find_binary("promtool"), reload=api)
    print(result)
    others = [a for a in rules.alerts_reading(threshold) if a != args.alert]
    if others and result.old != result.new:
        print(f"note: {threshold.selector} is also read by {', '.join(others)}")
    return 0


def _notes(args, rules: RuleSet, alert, threshold: Threshold, am_config, am_label: str) -> tuple[str, ...]:
    notes = []
    others = [a for a in rules.alerts_reading(threshold) if a != args.alert]
    if others:
        notes.append(f"{threshold.selector} is also read by {', '.join(others)}: a new value changes them too")
    notes += [f"not simulated: {u}" for u in am_config.unsimulated]
    reached = {i.channel for rule in alert
               for route in am_config.route.match({**dict(rule.labels), "alertname": rule.name})
               for i in am_config.receivers.get(route.receiver, ())}
    if not reached:
        notes.append(f"{args.alert} reaches no channel in {am_label} (set the channel variables: "
                     "README, Connecting the channels)")
    return tuple(notes)


def _run(args) -> int:
    rules = RuleSet.load(_rule_files(args.rules))
    alert = rules.alert(args.alert)
    threshold = _pick_threshold(rules, alert, args.alert, args.series)
    if args.apply is not None:
        return _apply(args, rules, threshold)
    if args.reload:
        raise TuningError("--reload: expected --apply V with it")
    hold = parse_duration(args.hold, "--for") if args.hold else None
    candidates = _candidates(args, threshold)
    pages = args.pages_per_week
    if pages is not None and not pages >= 0:
        raise TuningError(f"--pages-per-week = {pages!r}: expected a number >= 0")
    global_interval = _global_interval(args.prometheus_config)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tuning-")))
        am_config, am_label = _alertmanager_config(args, workdir)
        replay = None
        if args.replay:
            replay = stack.enter_context(ReplayTSDB(args.replay, rules, alert, global_interval=global_interval))
        api = PrometheusAPI(replay.url if replay else args.prometheus)
        start, end = _range(args, replay)
        plan = Plan(rules, tuple(alert), threshold, start, end, global_interval, hold)
        names = _input_names(rules, alert)
        if not api.has_samples(names, start, end):
            raise TuningError(f"no data for {', '.join(names)} between {format_time(start)} and {format_time(end)} "
                              f"at {api.url}: expected the range to hold the alert's series")
        outcomes = [evaluate(api, plan, value, am_config) for value in candidates]
        source = f"replay of {args.replay} (temporary Prometheus)" if replay else api.url
        context = Context(plan, source, am_label, _notes(args, rules, alert, threshold, am_config, am_label))
        out = args.out or (f"tuning-{args.alert}.png" if args.sweep else None)
        chart = sweep_chart(api, plan, outcomes, Path(out)) if out else None
    if args.json:
        body = as_json(context, outcomes, pages)
        body["chart"] = str(chart) if chart else None
        print(json.dumps(body, indent=2))
    else:
        print(table(context, outcomes, pages))
        if chart:
            print(f"chart: {chart}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, stream=sys.stderr)  # stdout is the report (or the JSON)
    try:
        return _run(args)
    except ApplyRefused as error:
        print(f"tuning: {error}", file=sys.stderr)
        return 1
    except TuningError as error:
        print(f"tuning: error: {error}", file=sys.stderr)
        return 2
