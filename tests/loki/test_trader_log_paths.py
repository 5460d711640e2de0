"""The real trader's log lines on the paths a person follows from a page to its cause.

Two short drills run through the real CLI (``python -m trader``): a crash (order lifecycle, fills,
the drawdown and daily-loss halts, limit refusals, the position closed) and a feed outage
(disconnect and reconnect). Every line on stdout must be one JSON object with ``ts``, ``level``,
``logger`` and ``msg``, and each path's line must carry the context fields Loki's queries and
the Logs dashboard filter on.
"""

from __future__ import annotations

import json
import signal
from datetime import datetime

import pytest
import yaml

from tests.support.processes import wait_until

# A drill compressed to seconds: same code path as the 3-minute one, less waiting.
SHORT_DRILL = {"drill": {"delay_seconds": 3, "duration_seconds": 8, "crash_over_seconds": 3}}

# msg -> the context fields its line must carry.
CRASH_PATHS = {
    "config loaded": {"feed", "exchanges", "drill"},
    "trader started": {"feed", "exchanges"},
    "feed connected (simulated)": {"exchange"},
    "order submitted": {"account", "exchange", "symbol", "order_id", "strategy", "order_type", "side"},
    "order filled": {"account", "exchange", "symbol", "order_id", "strategy", "price", "quantity", "fee"},
    "drill started": {"drill", "exchange", "symbol"},
    "trading halted: max drawdown reached": {"account", "drawdown_ratio"},
    "order refused by risk limit": {"account", "exchange", "symbol", "strategy", "reason"},
    "drill ended": {"drill"},
    "position closed": {"account", "exchange", "symbol", "strategy", "realized_pnl_usdt"},
    "trader stopped": set(),
}
OUTAGE_PATHS = {
    "feed unavailable (simulated outage)": {"exchange"},
    "feed connected (simulated)": {"exchange"},
}


def _records(lines: list[str]) -> list[dict]:
    records = []
    for line in lines:
        record = json.loads(line)  # anything but one JSON object per line fails here
        assert isinstance(record, dict), line
        assert {"ts", "level", "logger", "msg"} <= record.keys(), line
        assert record["level"] in {"debug", "info", "warning", "error", "critical"}, line
        datetime.fromisoformat(record["ts"])
        records.append(record)
    return records


def _run_drill(start_trader, tmp_path, drill: str, paths: dict[str, set[str]]) -> list[dict]:
    config = tmp_path / f"{drill}.yml"
    config.write_text(yaml.safe_dump(SHORT_DRILL))
    trader = start_trader("--feed", "sim", "--config", str(config), "--drill", drill, "--seed", "3")
    running_paths = [msg for msg in paths if msg != "trader stopped"]

    def logged_every_path() -> bool:
        text = "\n".join(trader.log_lines())
        return all(f'"msg": "{msg}"' in text for msg in running_paths)

    try:
        wait_until(logged_every_path, 60, f"the trader to log {running_paths}")
    except AssertionError:
        pass  # the assertions below name what is missing
    trader.process.signal(signal.SIGTERM)
    assert trader.stop() == 0
    return _records(trader.log_lines())


@pytest.mark.parametrize("drill, paths", [("crash", CRASH_PATHS), ("feed-outage", OUTAGE_PATHS)])
def test_each_path_logs_one_json_object_with_its_context(start_trader, tmp_path, drill, paths) -> None:
    records = _records_by_msg(_run_drill(start_trader, tmp_path, drill, paths))
    missing = sorted(set(paths) - records.keys())
    assert not missing, f"{drill}: no log line for {missing}"
    for msg, fields in paths.items():
        record = records[msg]
        assert fields <= record.keys(), f"{msg!r} lacks {sorted(fields - record.keys())}: {record}"
        assert all(record[field] not in (None, "") for field in fields), record


def _records_by_msg(records: list[dict]) -> dict[str, dict]:
    by_msg: dict[str, dict] = {}
    for record in records:
        by_msg.setdefault(record["msg"], record)
    return by_msg
