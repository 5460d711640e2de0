"""What the chat answers: one command (or button press) in, replies out, for any transport.

The one place that decides who may do what and what to say (freqtrade's rpc.py; the transports
are thin). Security:

- only allow-listed chats (``TELEGRAM_CHAT_ID``, ``DISCORD_CHANNEL_ID``) get any answer;
- state-changing commands (``CHANGES``) only for ``CHAT_OPERATORS``;
- anyone else gets one polite refusal and one log line per ``REFUSAL_WINDOW_SECONDS``, then
  nothing until the window passes (a flood costs no messages and no log lines).

Figures come from Prometheus (the series the dashboards read), alerts and silences from
Alertmanager's API v2, actions go to the trader's control API. A dependency that is down is one
line naming it. A malformed command is answered with its usage.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable

from .clients import Alertmanager, Down, Prometheus, Refused, Reports, TraderControl
from .replies import Button, Reply, e, money, ratio
from .settings import Settings

__all__ = ["Asker", "Brain", "silence_matches", "COMMANDS", "CHANGES", "parse_duration", "ACK_CREATED_BY", "REFUSAL_WINDOW_SECONDS"]

_log = logging.getLogger("chat.commands")
# One refusal (reply and log line) per user and window: polite once, silent for a flood.
REFUSAL_WINDOW_SECONDS = 60.0
# An ack's silence lasts until its alert resolves (acks.py removes it); this bounds it if the
# chat service is down when that happens, so an ack never hides an alert for good.
ACK_MAX = timedelta(days=7)
SILENCE_MAX = timedelta(days=30)
ACK_CREATED_BY = "chat-ack"  # createdBy prefix of ack silences: the watcher removes only these
ALERTS_WITH_BUTTONS = 10  # one message per alert, with its buttons; the rest as one summary list
SEVERITY_ORDER = ("critical", "warning", "info", "none")

USAGE = {
    "status": "status: trader, feeds, accounts, equity, daily PnL, drawdown, halts, firing alerts",
    "balance": "balance: equity, wallet balance and margin per account",
    "positions": "positions [account]: open positions",
    "pnl": "pnl: PnL today, over 7 days and 30 days",
    "trades": "trades [N] [account]: the last N closed trades (default 5, at most 50)",
    "alerts": "alerts: firing alerts by severity, with silence buttons",
    "silence": "silence <alert> <duration> [comment]: silence that alert instance, e.g. silence TraderDrawdownHigh 2h",
    "unsilence": "unsilence <alert|silence id>: remove the chat's silences of that alert",
    "ack": "ack <alert>: silence it until it resolves",
    "pause": "pause [account]: no new entries (exits still managed)",
    "resume": "resume [account]: end a pause; lifting a risk halt asks for confirmation",
    "close": "close <symbol> [account]: close that position at market",
    "closeall": "closeall [account]: close every position at market",
    "report": "report [day|week] [account]: the performance report so far",
    "help": "help: this list",
}
COMMANDS = tuple(USAGE)
# The names seed 002's Telegram bot used, and the /start every Telegram client sends first.
ALIASES = {"stop": "pause", "start": "help", "balances": "balance"}
CHANGES = frozenset({"silence", "unsilence", "ack", "pause", "resume", "close", "closeall"})
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``2h``, ``1d12h``... None when it is not one (or is zero).

    >>> parse_duration("1h30m"), parse_duration("2d"), parse_duration("soon"), parse_duration("0m")
    (datetime.timedelta(seconds=5400), datetime.timedelta(days=2), None, None)
    """
    match = _DURATION.match(text.strip().lower())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes)
    return value if value > timedelta(0) else None


@dataclass(frozen=True)
class Asker:
    platform: str  # "telegram" | "discord"
    user_id: int
    chat_id: int
    name: str = ""  # a display name, for the log and the silence's comment

    @property
    def actor(self) -> str:
        return f"{self.platform}:{self.user_id}"


class Brain:
    def __init__(self, settings: Settings, prometheus: Prometheus, alertmanager: Alertmanager,
                 trader: TraderControl, reports: Reports, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.prometheus, self.alertmanager, self.trader, self.reports = prometheus, alertmanager, trader, reports
        self.clock = clock
        self._refused_at: dict[str, float] = {}

    # --- entry points (the transports call these) -------------------------------------------

    def allowed_chat(self, asker: Asker) -> bool:
        chats = self.settings.telegram_chats if asker.platform == "telegram" else self.settings.discord_channels
        return asker.chat_id in chats

    async def command(self, asker: Asker, name: str, args: list[str]) -> list[Reply]:
        name = name.lower()
        name = ALIASES.get(name, name)
        if not self.allowed_chat(asker):
            return self._refuse(asker, name, "this chat is not on the allow list")
        if name not in USAGE:
            return [Reply("Unknown command", (f"No command {e(name)!s}. Try <code>help</code>.",))]
        if name in CHANGES and not self.settings.is_operator(asker.platform, asker.user_id):
            return self._refuse(asker, name, "not an operator")
        handler: Callable[[Asker, list[str]], Awaitable[list[Reply]]] = getattr(self, f"_cmd_{name}")
        try:
            return await handler(asker, args)
        except _Usage:
            return [Reply("Usage", (f"<code>{e(USAGE[name])}</code>",))]
        except Down as down:
            return [Reply("Unavailable", (e(str(down)),))]
        except Refused as refused:
            return [Reply("Not possible", (e(str(refused)),))]

    async def button(self, asker: Asker, data: str) -> list[Reply]:
        """A button press: ``<action>:<argument>`` as ``_alert_buttons`` and resume made it."""
        action, _, argument = data.partition(":")
        commands = {"s1h": ("silence", [argument, "1h"]), "ack": ("ack", [argument]),
                    "resume!": ("resume", [argument, "confirm"])}
        if action not in commands:
            return [Reply("Unknown button", ("That button is no longer understood; run the command again.",))]
        name, args = commands[action]
        return await self.command(asker, name, args)

    # --- refusals -----------------------------------------------------------------------------

    def _refuse(self, asker: Asker, command: str, why: str) -> list[Reply]:
        key = asker.actor
        now = self.clock()
        last = self._refused_at.get(key)
        if last is not None and now - last < REFUSAL_WINDOW_SECONDS:
            return []  # already told, and already logged, in this window
        self._refused_at[key] = now
        _log.warning("command refused", extra={"actor": asker.actor, "chat": asker.chat_id, "command": command,
                                               "reason": why})
        if not self.allowed_chat(asker):
            text = "Sorry, this bot answers only in its configured chats."
        else:
            text = "Sorry, only the stack's operators may do that."
        return [Reply("Not allowed", (text,), refusal=True)]

    # --- reading ------------------------------------------------------------------------------

    async def _accounts(self) -> list[dict]:
        return (await self.trader.get("accounts"))["accounts"]

    async def _cmd_help(self, asker: Asker, args: list[str]) -> list[Reply]:
        prefix = "/" if asker.platform == "telegram" else "!"
        operator = self.settings.is_operator(asker.platform, asker.user_id)
        lines = [f"<code>{prefix}{e(text)}</code>" for name, text in USAGE.items() if operator or name not in CHANGES]
        if not operator:
            lines.append("<i>Commands that change something are for operators only.</i>")
        return [Reply("Commands", tuple(lines))]

    async def _cmd_status(self, asker: Asker, args: list[str]) -> list[Reply]:
        prom = self.prometheus
        up = await prom.query('up{job="trader"}')
        feeds = await prom.query("trader_feed_up")
        equity = await prom.one("trader_equity_usdt")
        daily = await prom.one("trader_daily_pnl_usdt")
        daily_ratio = await prom.one("account:trader_daily_pnl:ratio")
        drawdown = await prom.one("trader_drawdown_ratio")
        halted = await prom.one("trader_trading_halted")
        lines = [f"Trader: {'up' if up and all(v == 1 for _, v in up) else '<b>DOWN</b>'}"]
        if feeds:
            lines.append("Feeds: " + ", ".join(f"{e(l.get('exchange', '?'))} {'up' if v == 1 else '<b>down</b>'}"
                                              for l, v in sorted(feeds, key=lambda f: f[0].get("exchange", ""))))
        try:
            paused = {a["name"]: a for a in await self._accounts()}
        except Down:
            paused = {}
            lines.append("Pause state: the trader's control API is unreachable")
        for account in sorted(equity):
            state = "halted" if halted.get(account) == 1 else "trading"
            if paused.get(account, {}).get("paused"):
                state = f"paused by {e(paused[account].get('paused_by') or '?')}"
            if halted.get(account) == 1 and paused.get(account, {}).get("halt_reason"):
                state = f"halted ({e(paused[account]['halt_reason'].replace('_', ' '))})"
            lines.append(f"<b>{e(account)}</b>: equity {money(equity[account])} USDT, today "
                         f"{money(daily.get(account))} ({ratio(daily_ratio.get(account))}), drawdown "
                         f"{ratio(drawdown.get(account))}, {state}")
        firing = await self.alertmanager.alerts()
        counts = {s: sum(1 for a in firing if a["labels"].get("severity") == s) for s in SEVERITY_ORDER}
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != "none")
        lines.append(f"Alerts firing: {shown or 'none'}")
        return [Reply("Status", tuple(lines))]

    async def _cmd_balance(self, asker: Asker, args: list[str]) -> list[Reply]:
        prom = self.prometheus
        equity, balance = await prom.one("trader_equity_usdt"), await prom.one("trader_balance_usdt")
        used, free = await prom.one("trader_margin_used_usdt"), await prom.one("trader_margin_free_usdt")
        lines = [f"<b>{e(a)}</b>: equity {money(equity[a])}, wallet {money(balance.get(a))}, margin used "
                 f"{money(used.get(a))}, free {money(free.get(a))} USDT" for a in sorted(equity)]
        return [Reply("Balance", tuple(lines) or ("No account reports an equity yet.",))]

    async def _cmd_pnl(self, asker: Asker, args: list[str]) -> list[Reply]:
        prom = self.prometheus
        today = await prom.one("trader_daily_pnl_usdt")
        total = await prom.one("trader_equity_usdt - trader_initial_equity_usdt")
        lines = []
        periods = {}
        for days in (7, 30):
            periods[days] = await prom.one(f"trader_equity_usdt - (trader_equity_usdt offset {days}d)")
        for account in sorted(set(today) | set(total)):
            parts = [f"today {money(today.get(account))}"]
            for days, values in periods.items():
                parts.append(f"{days} d {money(values[account])}" if account in values
                             else f"{days} d n/a (history shorter)")
            parts.append(f"since start {money(total.get(account))}")
            lines.append(f"<b>{e(account)}</b> (USDT): " + ", ".join(parts))
        return [Reply("PnL", tuple(lines) or ("No account reports PnL yet.",))]

    def _account_arg(self, args: list[str]) -> str:
        return args[0] if args else self.settings.account

    async def _cmd_positions(self, asker: Asker, args: list[str]) -> list[Reply]:
        if len(args) > 1:
            raise _Usage
        account = self._account_arg(args)
        answer = await self.trader.get(f"accounts/{account}/positions")
        lines = [f"<code>{e(p['symbol'])}</code> {e(p['exchange'])} {p['side']} {abs(p['quantity']):.6g} @ "
                 f"{p['entry_price']:,.6g}, mark {p['mark_price']:,.6g}, PnL {money(p['unrealized_pnl_usdt'])} USDT, "
                 f"{p['leverage']:.1f}x, {int(p['age_seconds'] // 60)} min" for p in answer["positions"]]
        return [Reply(f"Positions of {account}", tuple(lines) or ("No open position.",))]

    async def _cmd_trades(self, asker: Asker, args: list[str]) -> list[Reply]:
        count, rest = 5, list(args)
        if rest and rest[0].isdigit():
            count = int(rest.pop(0))
        if not 1 <= count <= 50 or len(rest) > 1:
            raise _Usage
        account = self._account_arg(rest)
        trades = (await self.trader.get(f"accounts/{account}/trades", limit=str(count)))["trades"]
        lines = []
        for t in trades:
            when = datetime.fromtimestamp(t["closed_at"], timezone.utc).strftime("%m-%d %H:%M")
            lines.append(f"{when} <code>{e(t['symbol'])}</code> {t['side']} {money(t['net_pnl_usdt'])} USDT, "
                         f"held {int(t['holding_seconds'] // 60)} min, {e(t['exit_reason'])}")
        return [Reply(f"Last trades of {account} (UTC)", tuple(lines) or ("No closed trade yet.",))]

    # --- alerts and silences -----------------------------------------------------------------

    @staticmethod
    def _describe(alert: dict) -> str:
        labels = alert["labels"]
        where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())
                          if k not in ("alertname", "severity", "category"))
        summary = alert.get("annotations", {}).get("summary", "")
        return f"<b>{e(labels.get('alertname', '?'))}</b> [{e(labels.get('severity', '?'))}] {e(where)}" + \
            (f"\n{e(summary)}" if summary else "")

    async def _cmd_alerts(self, asker: Asker, args: list[str]) -> list[Reply]:
        firing = [a for a in await self.alertmanager.alerts() if a["labels"].get("severity") != "none"]
        if not firing:
            return [Reply("Alerts", ("Nothing is firing.",))]
        rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
        firing.sort(key=lambda a: (rank.get(a["labels"].get("severity"), 9), a["labels"].get("alertname", ""),
                                   a["fingerprint"]))
        replies = [Reply("Alerts", (f"{len(firing)} firing; silence one with its buttons, or "
                                    "<code>silence &lt;alert&gt; &lt;duration&gt;</code>.",))]
        for alert in firing[:ALERTS_WITH_BUTTONS]:
            fp = alert["fingerprint"]
            replies.append(Reply(alert["labels"].get("alertname", "alert"), (self._describe(alert), f"id <code>{e(fp)}</code>"),
                                 buttons=(Button("Silence 1h", f"s1h:{fp}"), Button("Silence until resolved", f"ack:{fp}"))))
        if len(firing) > ALERTS_WITH_BUTTONS:
            replies.append(Reply("More alerts", tuple(self._describe(a).replace("\n", " — ")
                                                      for a in firing[ALERTS_WITH_BUTTONS:])))
        return replies

    async def _find(self, ref: str) -> list[dict]:
        """Firing alerts (silenced ones too) that ``ref`` names: a fingerprint, or an alert name."""
        alerts = await self.alertmanager.alerts(silenced=True, inhibited=True)
        by_fp = [a for a in alerts if a["fingerprint"] == ref]
        return by_fp or [a for a in alerts if a["labels"].get("alertname", "").lower() == ref.lower()]

    async def _one_alert(self, ref: str) -> dict | list[Reply]:
        found = await self._find(ref)
        if not found:
            return [Reply("No such alert", (f"Nothing firing is called or has the id <code>{e(ref)}</code>; "
                                            "see <code>alerts</code>.",))]
        if len(found) > 1:
            return [Reply("Which one?", (f"{len(found)} alerts are called {e(ref)}; name one by its id:",
                                         *(f"{self._describe(a)} — id <code>{e(a['fingerprint'])}</code>" for a in found)))]
        return found[0]

    async def _cmd_silence(self, asker: Asker, args: list[str]) -> list[Reply]:
        if len(args) < 2:
            raise _Usage
        duration = parse_duration(args[1])
        if duration is None or duration > SILENCE_MAX:
            raise _Usage
        alert = await self._one_alert(args[0])
        if isinstance(alert, list):
            return alert
        comment = " ".join(args[2:]) or f"silenced from {asker.platform}"
        until = datetime.now(timezone.utc) + duration
        silence_id = await self.alertmanager.silence(alert["labels"], duration, f"chat:{asker.actor}",
                                                     f"{comment} (by {asker.name or asker.actor})")
        _log.info("silence created", extra={"actor": asker.actor, "alertname": alert["labels"].get("alertname"),
                                            "silence_id": silence_id, "duration": args[1]})
        return [Reply("Silenced", (self._describe(alert), f"until {until:%Y-%m-%d %H:%M} UTC, silence "
                                   f"<code>{e(silence_id)}</code>"), meta={"silence_id": silence_id})]

    async def _cmd_ack(self, asker: Asker, args: list[str]) -> list[Reply]:
        if len(args) != 1:
            raise _Usage
        alert = await self._one_alert(args[0])
        if isinstance(alert, list):
            return alert
        silence_id = await self.alertmanager.silence(
            alert["labels"], ACK_MAX, f"{ACK_CREATED_BY}:{asker.actor}",
            f"acknowledged by {asker.name or asker.actor}; removed once the alert resolves")
        _log.info("alert acknowledged", extra={"actor": asker.actor, "alertname": alert["labels"].get("alertname"),
                                               "silence_id": silence_id})
        return [Reply("Acknowledged", (self._describe(alert), "Silenced until it resolves."),
                      meta={"silence_id": silence_id})]

    async def _cmd_unsilence(self, asker: Asker, args: list[str]) -> list[Reply]:
        if len(args) != 1:
            raise _Usage
        ref = args[0]
        silences = [s for s in await self.alertmanager.silences() if s["status"]["state"] == "active"]
        ours = [s for s in silences if s["createdBy"].startswith(("chat:", f"{ACK_CREATED_BY}:"))]
        targets = [s for s in silences if s["id"] == ref]
        if not targets:
            alerts = await self._find(ref)
            label_sets = [a["labels"] for a in alerts]
            targets = [s for s in ours if any(silence_matches(s, labels) for labels in label_sets)]
        if not targets:
            return [Reply("Nothing to unsilence", (f"No active chat silence for <code>{e(ref)}</code>.",))]
        for silence in targets:
            await self.alertmanager.expire(silence["id"])
        _log.info("silences removed", extra={"actor": asker.actor, "silence_ids": ",".join(s["id"] for s in targets)})
        return [Reply("Unsilenced", tuple(f"silence <code>{e(s['id'])}</code> removed" for s in targets))]

    # --- trader actions -----------------------------------------------------------------------

    async def _act(self, asker: Asker, account: str, action: str, **fields) -> tuple[int, dict]:
        # the journal's actor vocabulary (docs/journal.md): chat:<platform>:<user id>
        return await self.trader.post(f"accounts/{account}/{action}", {"actor": f"chat:{asker.actor}", **fields})

    async def _cmd_pause(self, asker: Asker, args: list[str]) -> list[Reply]:
        if len(args) > 1:
            raise _Usage
        account = self._account_arg(args)
        status, answer = await self._act(asker, account, "pause")
        if status != 200:
            return [Reply("Not paused", (e(answer.get("error", f"HTTP {status}")),))]
        note = "already paused" if answer.get("already") else "paused: no new entries; exits are still managed"
        return [Reply(f"{account} paused", (note,))]

    async def _cmd_resume(self, asker: Asker, args: list[str]) -> list[Reply]:
        confirm = "confirm" in args
        rest = [a for a in args if a != "confirm"]
        if len(rest) > 1:
            raise _Usage
        account = self._account_arg(rest)
        status, answer = await self._act(asker, account, "resume", confirm=confirm)
        if status == 409 and answer.get("needs_confirmation"):
            data = f"resume!:{account}"
            if len(data.encode()) > 64:  # Telegram's callback_data limit: a long name is typed instead
                return [Reply("Confirm resume", (e(answer["error"]),
                                                 f"To lift it: <code>resume {e(account)} confirm</code>"))]
            return [Reply("Confirm resume", (e(answer["error"]), "Lift the halt and trade again?"),
                          buttons=(Button("Lift the halt and resume", data),))]
        if status != 200:
            return [Reply("Not resumed", (e(answer.get("error", f"HTTP {status}")),))]
        lifted = answer.get("lifted") or []
        note = (f"halt lifted ({', '.join(lifted)}); trading again" if lifted
                else "was not paused" if answer.get("already") else "pause ended; trading again")
        return [Reply(f"{account} resumed", (e(note),))]

    async def _cmd_close(self, asker: Asker, args: list[str]) -> list[Reply]:
        if not 1 <= len(args) <= 2 or not re.fullmatch(r"[A-Za-z0-9]{2,30}", args[0]):
            raise _Usage
        account = self._account_arg(args[1:])
        status, answer = await self._act(asker, account, "close", symbol=args[0].upper())
        return self._closing(status, answer, "Close")

    async def _cmd_closeall(self, asker: Asker, args: list[str]) -> list[Reply]:
        if len(args) > 1:
            raise _Usage
        status, answer = await self._act(asker, self._account_arg(args), "closeall")
        return self._closing(status, answer, "Close all")

    @staticmethod
    def _closing(status: int, answer: dict, title: str) -> list[Reply]:
        if status != 200:
            return [Reply(f"{title}: nothing done", (e(answer.get("error", f"HTTP {status}")),))]
        lines = [f"<code>{e(c['symbol'])}</code> {e(c['exchange'])}: {c['side']} {c['quantity']:.6g} at market"
                 + ("" if c["sent"] else " (not sent: no market price yet)") for c in answer["closing"]]
        return [Reply(f"{title}: closing", tuple(lines))]

    # --- report -------------------------------------------------------------------------------

    async def _cmd_report(self, asker: Asker, args: list[str]) -> list[Reply]:
        period, rest = "day", list(args)
        if rest and rest[0] in ("day", "week"):
            period = rest.pop(0)
        if len(rest) > 1:
            raise _Usage
        account = self._account_arg(rest)
        body, png = await self.reports.report(account, period)
        lines = [e(line) for line in body.get("summary", [])]
        for section in body.get("sections", []):
            lines.append(f"<b>{e(section['title'])}</b>")
            lines += [f"{e(l['label'])}: {e(l['value'])}" if l.get("label") else e(l["value"]) for l in section["lines"]]
        return [Reply(body.get("title", f"Report {account}"), tuple(lines), photo=png or None)]


class _Usage(Exception):
    """The command's arguments do not fit its usage."""


def silence_matches(silence: dict, labels: dict[str, str]) -> bool:
    """Whether the silence's matchers hold for these labels (equality and regex, as Alertmanager)."""
    for m in silence["matchers"]:
        value = labels.get(m["name"], "")
        hit = re.fullmatch(m["value"], value) is not None if m.get("isRegex") else value == m["value"]
        if hit != m.get("isEqual", True):
            return False
    return True
