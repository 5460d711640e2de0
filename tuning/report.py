"""What the user reads: one row per candidate value (table) or the same as JSON (``--json``).

    print(table(context, outcomes, pages_per_week=2))
    print(json.dumps(as_json(context, outcomes, pages_per_week=2), indent=2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .am_config import CHANNELS
from .evaluate import Outcome, Plan
from .expression import format_number
from .timeparse import format_duration, format_time

__all__ = ["Context", "table", "as_json", "recommend"]


@dataclass(frozen=True)
class Context:
    plan: Plan
    source: str               # the Prometheus URL, or "replay of FILE"
    alertmanager_config: str  # the file the simulation read
    notes: tuple[str, ...] = ()


def recommend(outcomes: Sequence[Outcome], pages_per_week: float | None) -> Outcome | None:
    """The most sensitive candidate (most firing time, then most alerts) within the page budget."""
    if pages_per_week is None:
        return None
    within = [o for o in outcomes if o.pages_per_week <= pages_per_week + 1e-9]
    if not within:
        return None
    return max(within, key=lambda o: (o.firing_seconds, o.alerts, -abs(o.value - outcomes[0].value)))


def _channels_used(outcomes: Sequence[Outcome]) -> list[str]:
    used = {c for o in outcomes for c in o.per_channel()}
    return [c for c in CHANNELS if c in used] + sorted(used - set(CHANNELS))


def _when(ts: float | None) -> str:
    return format_time(ts) if ts is not None else "-"


def table(context: Context, outcomes: Sequence[Outcome], pages_per_week: float | None = None) -> str:
    plan = context.plan
    t = plan.threshold
    rule = plan.alert[0]
    hold = format_duration(plan.hold(rule))
    lines = [
        f"{rule.name}: threshold {t.selector} = {t.text} ({t.rule.path}:{t.line}), for {hold}, "
        f"evaluated every {format_duration(plan.interval(rule))}",
        f"range {format_time(plan.start)} .. {format_time(plan.end)} ({format_duration(plan.seconds)}), "
        f"data: {context.source}; routing: {context.alertmanager_config}",
    ]
    lines += [f"note: {n}" for n in context.notes]
    channels = _channels_used(outcomes)
    head = ["value", "alerts", "firing", "longest", "first fired", "last fired", *channels, "pages/week"]
    rows = [head]
    for o in outcomes:
        per = o.per_channel()
        rows.append([format_number(o.value), str(o.alerts), format_duration(o.firing_seconds),
                     format_duration(o.longest_seconds), _when(o.first_fired), _when(o.last_fired),
                     *[str(per.get(c, 0)) for c in channels], f"{o.pages_per_week:.1f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines.append("")
    for r in rows:
        lines.append("  ".join(cell.ljust(w) if i < 6 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths))).rstrip())
    lines.append("")
    lines.append("channels: notifications after routing, grouping, group_wait/group_interval/repeat_interval and "
                 "inhibition; pages = notifications with a firing alert on the busiest channel")
    if pages_per_week is not None:
        best = recommend(outcomes, pages_per_week)
        if best is None:
            lines.append(f"no candidate stays within {pages_per_week:g} pages a week")
        else:
            lines.append(f"at most {pages_per_week:g} pages a week: {format_number(best.value)} "
                         f"({best.pages_per_week:.1f} pages/week, {best.alerts} alerts, "
                         f"firing {format_duration(best.firing_seconds)})")
    return "\n".join(lines)


def as_json(context: Context, outcomes: Sequence[Outcome], pages_per_week: float | None = None) -> dict:
    plan = context.plan
    t = plan.threshold
    rule = plan.alert[0]
    best = recommend(outcomes, pages_per_week)
    return {
        "alert": rule.name,
        "threshold": {"series": t.selector, "value": t.value, "text": t.text, "file": str(t.rule.path), "line": t.line},
        "for_seconds": plan.hold(rule),
        "interval_seconds": plan.interval(rule),
        "range": {"start": format_time(plan.start), "end": format_time(plan.end), "seconds": plan.seconds},
        "source": context.source,
        "alertmanager_config": context.alertmanager_config,
        "notes": list(context.notes),
        "candidates": [{
            "value": o.value,
            "alerts": o.alerts,
            "firing_seconds": o.firing_seconds,
            "longest_seconds": o.longest_seconds,
            "first_fired": _when(o.first_fired) if o.first_fired is not None else None,
            "last_fired": _when(o.last_fired) if o.last_fired is not None else None,
            "notifications": o.per_channel(),
            "notifications_by_receiver": o.per_receiver(),
            "pages": o.pages,
            "pages_per_week": o.pages_per_week,
            "episodes": [{"labels": dict(e.labels), "fired_at": format_time(e.fired_at),
                          "resolved_at": format_time(e.resolved_at) if e.resolved_at is not None else None}
                         for e in o.episodes],
        } for o in outcomes],
        "pages_per_week_budget": pages_per_week,
        "recommended": best.value if best is not None else None,
    }
