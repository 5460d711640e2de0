"""stacklog (the shared JSON logger): every line is one JSON object Alloy can parse and the LogQL rules can select.

The paths here are the shapes of line every service writes: a plain start line, a line with the
trading context, a figure that is NaN or infinite, an exception with its traceback, and the
exchange refusal the TraderExchangeRefusing rule watches for.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from stacklog import CONTEXT_FIELDS, configure_logging

RULES = Path(__file__).resolve().parents[2] / "loki" / "rules" / "fake" / "trader.yml"


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", stream=stream)
    yield stream
    root.handlers[:], root.level = saved


def _lines(stream) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # one object per line, or this raises


def test_start_line_has_the_required_fields(log_stream):
    logging.getLogger("trader.main").info("trader started", extra={"feed": "sim"})
    (line,) = _lines(log_stream)
    assert line["level"] == "info" and line["logger"] == "trader.main" and line["msg"] == "trader started"
    ts = datetime.fromisoformat(line["ts"])
    assert ts.utcoffset().total_seconds() == 0, "ts must be UTC"
    assert line["feed"] == "sim"


def test_context_fields_are_top_level_keys(log_stream):
    context = {"exchange": "binance", "symbol": "BTCUSDT", "account": "paper-1",
               "order_id": "o-17", "strategy": "momentum", "drill": "crash"}
    assert set(context) == set(CONTEXT_FIELDS)
    logging.getLogger("trader.broker").warning("order rejected", extra={**context, "reason": "margin"})
    (line,) = _lines(log_stream)
    assert {k: line[k] for k in context} == context
    assert line["level"] == "warning" and line["reason"] == "margin"


def test_levels_are_the_lowercase_names_alloy_promotes(log_stream):
    for level in ("debug", "info", "warning", "error", "critical"):
        logging.getLogger("trader").log(getattr(logging, level.upper()), "x")
    assert [line["level"] for line in _lines(log_stream)] == ["debug", "info", "warning", "error", "critical"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_still_give_valid_json(log_stream, value):
    logging.getLogger("trader.risk").info("sharpe computed", extra={"sharpe": value, "equity": 10240.5})
    text = log_stream.getvalue()
    assert "NaN" not in text.replace('"nan"', "") and "Infinity" not in text
    (line,) = [json.loads(t, parse_constant=lambda c: pytest.fail(f"bare {c} in {t}")) for t in text.splitlines()]
    assert line["equity"] == 10240.5
    assert isinstance(line["sharpe"], str)


def test_odd_values_and_newlines_stay_on_one_line(log_stream):
    logging.getLogger("trader.feed").error("bad message:\n%s", '{"e":"x"}\n', extra={"raw": b"\x00\xff", "n": None})
    text = log_stream.getvalue()
    assert text.count("\n") == 1
    (line,) = _lines(log_stream)
    assert line["msg"].startswith("bad message:\n") and line["n"] is None


def test_exception_carries_its_type_and_traceback(log_stream):
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("trader.strategy").exception("strategy failed", extra={"strategy": "meanrev"})
    (line,) = _lines(log_stream)
    assert line["level"] == "error" and line["exc_type"] == "KeyError"
    assert "Traceback (most recent call last)" in line["exc"] and "missing" in line["exc"]
    assert line["strategy"] == "meanrev"


def _refusal_rule():
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    (rule,) = [r for r in rules if r["alert"] == "TraderExchangeRefusing"]
    return rule["expr"]


def _selected_by_refusal_rule(line_text: str) -> bool:
    """Apply the rule's line filter and its `a=~... or b=~...` label filter, as Loki would."""
    expr = _refusal_rule()
    line_filters = re.findall(r"\|~\s*`([^`]*)`", expr)
    if not all(re.search(p, line_text) for p in line_filters):
        return False
    fields = json.loads(line_text)
    after_parser = expr.split("| json", 1)[1]  # the label filters, not the stream selector
    alternatives = re.findall(r"\b([a-z_]+)=~\s*(?:\"([^\"]*)\"|`([^`]*)`)", after_parser)
    # Loki anchors label regexes: the whole value must match.
    return any(re.fullmatch(quoted or raw, str(fields.get(name, ""))) for name, quoted, raw in alternatives)


def test_exchange_refusal_lines_are_what_the_loki_rule_selects(log_stream):
    log = logging.getLogger("trader.feeds.binance")
    log.error("exchange refused the connection", extra={"exchange": "binance", "http_status": 451})
    log.error("exchange refused: HTTP 403 Forbidden", extra={"exchange": "bybit"})
    # What trader/feeds/base.py writes when a connection is refused.
    log.warning("feed unavailable, retrying with backoff", extra={
        "exchange": "binance", "error": "HTTP 451 Unavailable For Legal Reasons", "next_retry_seconds": 1.7})
    log.warning("feed unavailable, retrying with backoff", extra={
        "exchange": "okx", "error": "ConnectionResetError: peer closed after 451 ms", "next_retry_seconds": 0.9})
    log.info("mark price", extra={"exchange": "okx", "symbol": "BTCUSDT", "price": 451.3})
    log.warning("order 451 canceled", extra={"exchange": "okx", "order_id": "451"})
    selected = [_selected_by_refusal_rule(t) for t in log_stream.getvalue().splitlines()]
    assert selected == [True, True, True, False, False, False]
