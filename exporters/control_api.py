"""The trader's control API: an operator's pause, resume and close, on the trader's HTTP server.

What the chat service (chat/) calls. Every path under ``/control/v1/`` needs
``Authorization: Bearer <token>``; ``/metrics``, ``/healthz`` and ``/readyz`` stay open.

    GET  /control/v1/accounts                              every account, paper and exchange
    GET  /control/v1/accounts/<name>/positions
    GET  /control/v1/accounts/<name>/trades?limit=N        newest first, N <= 200 (default 10)
    POST /control/v1/accounts/<name>/pause                 {"actor": "telegram:42"}
    POST /control/v1/accounts/<name>/resume                {"actor": ..., "confirm": true}  (confirm lifts a halt)
    POST /control/v1/accounts/<name>/close                 {"actor": ..., "symbol": "BTCUSDT"}
    POST /control/v1/accounts/<name>/closeall              {"actor": ...}

Answers are JSON; an error is ``{"error": "<one line>"}``: 400 a malformed body, 401 no or a
wrong token, 403 an exchange account (read-only keys), 404 an unknown account or path, 409 a
halt that needs ``confirm`` (``"needs_confirmation": true``) or nothing to close.

The token is generated at the first start into ``<state dir>/control-token`` (mode 0600; kept
across restarts, like Grafana's generated password), compared in constant time and never logged:
the log says where to read it. The actions themselves run on the trader's loop
(``trader/control.py``'s ``Controller``, handed in by ``trader/__main__.py``), which logs and
journals each with its ``actor``. Its refusals carry a ``kind``, mapped here to a status.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, unquote


__all__ = ["ControlApi", "load_or_create_token", "TOKEN_FILE", "PREFIX"]

_log = logging.getLogger("exporters.control")
PREFIX = "/control/v1/"
TOKEN_FILE = "control-token"
TOKEN_MODE = 0o600  # the trader's user only (the chat service runs as the same user in compose)
MAX_BODY_BYTES = 16 * 1024  # an action's body is a few dozen bytes; more is not one of ours
_ACTOR = re.compile(r"^[\w.:@-]{1,100}$")  # "telegram:42", "discord:1234", "cli:alice"
_ACTIONS = ("pause", "resume", "close", "closeall")
_READS = ("positions", "trades")
# trader/control.py's refusals, by their ``kind``: the status each answers with
_STATUS_OF_KIND = {"unknown_account": 404, "read_only": 403, "needs_confirmation": 409, "nothing_to_do": 409}


def load_or_create_token(state_dir: str | Path) -> tuple[str, Path]:
    """(token, file): the one in ``state_dir`` or, at the first start, a new random one written there."""
    path = Path(state_dir) / TOKEN_FILE
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, path
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, TOKEN_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)
    os.chmod(tmp, TOKEN_MODE)  # the umask may have narrowed it, never widened
    os.replace(tmp, path)
    _log.info("control API token generated", extra={"secret_file": str(path)})
    return token, path


class ControlApi:
    """Routes one request to the ``Controller``; ``run(fn)`` runs ``fn`` on the trader's loop."""

    def __init__(self, controller: Any, token: str) -> None:
        if not token:
            raise ValueError("control API: expected a non-empty token")
        self.controller = controller
        self._token = token.encode()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               run: Callable[[Callable[[], Any]], Any]) -> tuple[int, dict]:
        path, _, query = target.partition("?")
        if not self._authorized(headers.get("Authorization")):
            return 401, {"error": "control API: missing or wrong bearer token (Authorization: Bearer <token>)"}
        parts = [unquote(p) for p in path[len(PREFIX):].split("/") if p]
        try:
            if parts == ["accounts"] and method == "GET":
                return 200, {"accounts": run(self.controller.accounts)}
            if len(parts) == 3 and parts[0] == "accounts" and parts[2] in _READS + _ACTIONS:
                name, what = parts[1], parts[2]
                if what in _READS:
                    if method != "GET":
                        return 405, {"error": f"{path}: expected GET"}
                    return 200, self._read(name, what, parse_qs(query), run)
                if method != "POST":
                    return 405, {"error": f"{path}: expected POST"}
                return 200, self._act(name, what, body, run)
            return 404, {"error": f"no such path {path!r}; try {PREFIX}accounts"}
        except _BadRequest as error:
            return 400, {"error": str(error)}
        except Exception as error:
            kind = getattr(error, "kind", None)
            if not isinstance(kind, str):
                raise  # a bug: the HTTP server logs it and answers 500
            body: dict = {"error": str(error)}
            if kind == "needs_confirmation":
                body.update(needs_confirmation=True, halt_reason=getattr(error, "halt_reason", None))
            return _STATUS_OF_KIND.get(kind, 409), body

    def _authorized(self, header: str | None) -> bool:
        scheme, _, given = (header or "").partition(" ")
        # compare_digest on every request, also for a wrong scheme: no timing tells a near miss
        ok = hmac.compare_digest(given.strip().encode(), self._token)
        return ok and scheme.lower() == "bearer"

    def _read(self, name: str, what: str, query: dict[str, list[str]], run) -> dict:
        if what == "positions":
            return {"account": name, "positions": run(lambda: self.controller.positions(name))}
        text = (query.get("limit") or ["10"])[0]
        if not text.isdigit() or not 1 <= int(text) <= 200:
            raise _BadRequest(f"limit = {text!r}: expected a whole number from 1 to 200")
        return {"account": name, "trades": run(lambda: self.controller.trades(name, int(text)))}

    def _act(self, name: str, what: str, body: bytes, run) -> dict:
        fields = _json_object(body)
        actor = fields.get("actor")
        if not isinstance(actor, str) or not _ACTOR.match(actor):
            raise _BadRequest("actor: expected who asks, 1-100 letters, digits or . : @ - _ (e.g. 'telegram:42')")
        control = self.controller
        if what == "pause":
            return run(lambda: control.pause(name, actor))
        if what == "resume":
            confirm = fields.get("confirm", False)
            if not isinstance(confirm, bool):
                raise _BadRequest(f"confirm = {confirm!r}: expected true or false")
            return run(lambda: control.resume(name, actor, confirm=confirm))
        if what == "close":
            symbol = fields.get("symbol")
            if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z0-9]{2,30}", symbol):
                raise _BadRequest(f"symbol = {symbol!r}: expected a market symbol such as 'BTCUSDT'")
            return run(lambda: control.close(name, symbol, actor))
        return run(lambda: control.close_all(name, actor))


class _BadRequest(ValueError):
    pass


def _json_object(body: bytes) -> dict:
    if len(body) > MAX_BODY_BYTES:
        raise _BadRequest(f"body of {len(body)} bytes: expected a small JSON object")
    try:
        value = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _BadRequest(f"body: expected a JSON object ({error.__class__.__name__})") from None
    if not isinstance(value, dict):
        raise _BadRequest(f"body: expected a JSON object, got {type(value).__name__}")
    return value
