"""``python -m trader`` as a user runs it: bad input is one line and exit code 2; a max-speed
replay of a real recording exits 0 after its summary line; SIGTERM stops a sim run cleanly."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.shared import DATA_DIR

REPO = Path(__file__).resolve().parents[2]
BTC_RECORDING = DATA_DIR / "binance-usdm-btcusdt-20240808.jsonl.gz"  # real, see its README


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("yaml_text, expected", [
    ("paper: {taker_fee_ratio: -0.1}\n", "config: paper.taker_fee_ratio = -0.1: expected a number >= 0 and < 0.01"),
    ("accounts:\n  - {name: a, limits: {max_leverage: zero}}\n",
     "config: accounts[0].limits.max_leverage = 'zero': expected a number > 0"),
    ("feed: {exchanges: [kraken]}\n", "config: feed.exchanges[0] = 'kraken': expected one of binance, bybit, okx"),
    ("risk: {sample_every: 5}\n", "config: risk.sample_every: unknown key (expected one of sample_interval_seconds"),
    ("accounts:\n  - {name: a}\n  - {name: a}\n", "config: accounts[1].name = 'a': expected a name no other account uses"),
    ("accounts:\n  - strategies: [{type: breakout}]\n",
     "config: accounts[0].strategies[0].type = 'breakout': expected one of momentum, mean_reversion"),
    ("name: Trader One\n", "config: name = 'Trader One': expected 1-63 characters from a-z, 0-9"),
])
def test_bad_config_is_one_line_naming_key_value_and_expectation(tmp_path, yaml_text, expected):
    config = tmp_path / "bad.yml"
    config.write_text(yaml_text)
    result = run("--config", str(config), "--feed", "sim")
    assert result.returncode == 2
    assert result.stdout == ""  # nothing half-started
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--feed", "paper"], "argument --feed: invalid choice: 'paper'"),
    (["--speed", "fast"], "--speed = 'fast': expected a number > 0 or 'max'"),
    (["--exchanges", "binance,kraken"], "--exchanges = 'binance,kraken': expected a comma-separated list"),
    (["--symbols", "0"], "--symbols = '0': expected a whole number >= 1"),
    (["--feed", "live", "--symbols", "9"], "--symbols = 9: expected at most 8 with --feed live"),
    (["--drill", "crash"], "--drill = 'crash': expected --feed sim"),
    (["--config", "/nonexistent/trader.yml"], "--config = '/nonexistent/trader.yml': expected a readable YAML file"),
    (["--feed", "sim", "--name", "Desk_A"], "--name = 'Desk_A': expected 1-63 characters from a-z, 0-9"),
])
def test_bad_flag_is_one_line_and_exit_2(args, fragment):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_max_speed_replay_of_a_real_recording_exits_0_with_a_summary(tmp_path):
    result = run("--replay", str(BTC_RECORDING), "--speed", "max", "--metrics-port", "0", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    summary = records[-1]
    # 66,089 bookTicker + 21,313 trade + 6,551 depth messages, all valid
    assert summary["messages"] >= 93_000 and summary["rejected"] == 0, summary
    assert summary["seconds"] > 0 and "replay binance" in summary["msg"]
    assert any(r["msg"] == "config loaded" for r in records)


def test_sigterm_stops_a_sim_run_cleanly(start_trader):
    trader = start_trader("--feed", "sim", "--seed", "5")
    assert requests.get(trader.base_url + "/healthz", timeout=5).status_code == 200
    process = trader.process._process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    messages = [json.loads(line)["msg"] for line in trader.log_lines() if line.startswith("{")]
    assert "trader started" in messages and messages[-1] == "trader stopped"


def test_sim_symbols_makes_n_synthetic_markets_per_exchange(start_trader):
    trader = start_trader("--feed", "sim", "--symbols", "12", "--exchanges", "binance,okx")

    def markets() -> set[tuple[str, str]]:
        found = set()
        for line in trader.scrape().splitlines():
            if line.startswith("trader_mark_price_usdt{"):
                labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].split(","))
                found.add((labels["exchange"].strip('"'), labels["symbol"].strip('"')))
        return found

    names = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT", "LINKUSDT",
             "DOTUSDT", "SYM001USDT", "SYM002USDT"}  # real names first, then synthetic ones
    expected = {(e, s) for e in ("binance", "okx") for s in names}
    assert wait_until(lambda: markets() == expected, 20, "a mark price for each of the 24 simulated markets")


def test_the_trader_name_comes_from_the_config_and_name_overrides_it(tmp_path):
    from trader.cli import _trader_name, build_config, build_parser

    config = tmp_path / "named.yml"
    config.write_text("name: desk-a\n")
    assert _trader_name(build_config(build_parser().parse_args(["--config", str(config), "--feed", "sim"]))) == "desk-a"
    args = build_parser().parse_args(["--config", str(config), "--feed", "sim", "--name", "desk-b"])
    assert _trader_name(build_config(args)) == "desk-b"
    assert _trader_name(build_config(build_parser().parse_args(["--feed", "sim"]))) == "trader"
