"""Exchange accounts' configuration: typed, validated, one line naming the key, the value and what
was expected; the environment's BINANCE_API_KEY... add accounts; the CLI exits 2 in one line for
a missing variable, a key that can withdraw, a pure watcher without an account."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.exchange_accounts.binance_standin import CAN_WITHDRAW
from tests.exchange_accounts.harness import CANARIES, ENVIRON, KEY, SECRET, account_config, standin
from tests.support.trader import REPO_ROOT
from trader import cli
from trader.accounts import build_watchers, check_budget
from trader.accounts.credentials import resolve_credentials
from trader.accounts.environment import environment_accounts
from trader.api_stats import ApiStats
from trader.config import Config, ConfigError, load_config_text
from trader.exchanges import exchange

VALID = """
exchange_accounts:
  - name: mine
    exchange: okx
    api_key_env: OKX_KEY
    api_secret_env: OKX_SECRET
    api_passphrase_env: OKX_PASSPHRASE
    poll_seconds: 5
    history_seconds: 15
    api_url: https://www.okx.com
"""


def test_a_full_entry_is_read_into_typed_values():
    config = load_config_text(VALID)
    [account] = config.exchange_accounts
    assert (account.name, account.exchange, account.api_key_env, account.api_passphrase_env) == (
        "mine", "okx", "OKX_KEY", "OKX_PASSPHRASE")
    assert (account.poll_seconds, account.history_seconds, account.timeout_seconds) == (5.0, 15.0, 10.0)
    assert config.accounts[0].name == "main"  # paper and exchange accounts side by side


@pytest.mark.parametrize("change, message", [
    ("    exchange: okx\n", "config: exchange_accounts[0].exchange = 'kraken': expected one of binance, bybit, okx"),
    ("    api_passphrase_env: OKX_PASSPHRASE\n",
     "config: exchange_accounts[0].api_passphrase_env = null: expected the environment variable holding the OKX API passphrase"),
    ("    poll_seconds: 5\n", "config: exchange_accounts[0].poll_seconds = 0: expected a number > 0 and <= 3600"),
    ("    history_seconds: 15\n", "config: exchange_accounts[0].history_seconds = 2.0: expected a number >= poll_seconds (5.0)"),
    ("  - name: mine\n", "config: exchange_accounts[0].name = 'main': expected a name no other account (paper or exchange) uses"),
    ("    api_key_env: OKX_KEY\n", "config: exchange_accounts[0].api_key_env = null: expected a value (this key is required)"),
])
def test_a_bad_value_is_one_line_naming_key_value_and_expectation(change, message):
    replacement = {"    exchange: okx\n": "    exchange: kraken\n",
                   "    api_passphrase_env: OKX_PASSPHRASE\n": "",
                   "    poll_seconds: 5\n": "    poll_seconds: 0\n",
                   "    history_seconds: 15\n": "    history_seconds: 2\n",
                   "  - name: mine\n": "  - name: main\n",
                   "    api_key_env: OKX_KEY\n": ""}[change]
    with pytest.raises(ConfigError) as raised:
        load_config_text(VALID.replace(change, replacement))
    assert str(raised.value) == message and "\n" not in str(raised.value)


def test_a_passphrase_for_an_exchange_without_one_is_refused():
    text = VALID.replace("exchange: okx", "exchange: binance")
    with pytest.raises(ConfigError, match=r"api_passphrase_env = 'OKX_PASSPHRASE': expected null \(Binance keys have no passphrase\)"):
        load_config_text(text)


def test_a_key_pasted_where_a_variable_name_goes_is_never_echoed():
    text = VALID.replace("api_key_env: OKX_KEY", f"api_key_env: {KEY}").replace(
        "api_url: https://www.okx.com", f"api_url: https://www.okx.com/?token={SECRET}")
    with pytest.raises(ConfigError) as raised:
        load_config_text(text)
    assert "api_key_env: expected the NAME of an environment variable" in str(raised.value)
    assert KEY not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        load_config_text(VALID.replace("api_url: https://www.okx.com", f"api_url: https://www.okx.com/?token={SECRET}"))
    assert "api_url: expected an http(s) base URL" in str(raised.value) and SECRET not in str(raised.value)


def test_the_rendered_config_holds_variable_names_never_keys():
    config = load_config_text(VALID)
    credentials = resolve_credentials(config.exchange_accounts[0],
                                      {"OKX_KEY": KEY, "OKX_SECRET": SECRET, "OKX_PASSPHRASE": CANARIES[2]})
    shown = repr(config) + str(config) + repr(credentials) + str(credentials)
    assert "OKX_KEY" in shown and not any(canary in shown for canary in CANARIES)
    assert (credentials.api_key, credentials.secret, credentials.passphrase) == (KEY, SECRET, CANARIES[2])


def test_a_missing_variable_stops_start_up_naming_it():
    account = account_config("bybit", "http://127.0.0.1:9")
    with pytest.raises(ConfigError) as raised:
        build_watchers(Config(accounts=(), exchange_accounts=(account,)), ApiStats(), environ={"ACCOUNT_KEY": KEY})
    assert str(raised.value) == ("account 'bybit-main': environment variable ACCOUNT_SECRET is not set "
                                 "(expected the API secret of the Bybit account there)")
    assert KEY not in str(raised.value)


@pytest.mark.parametrize("name, poll, history, ok", [
    ("binance", 10, 20, True), ("binance", 1, 5, True), ("binance", 0.5, 2, False),
    ("bybit", 0.2, 1, True), ("bybit", 0.1, 1, False), ("okx", 0.5, 1, True), ("okx", 0.3, 1, False),
])
def test_polling_faster_than_half_the_exchanges_limit_is_refused(name, poll, history, ok):
    account = account_config(name, "http://127.0.0.1:9", poll_seconds=poll, history_seconds=history)
    adapter = exchange(name).account_class()()
    if ok:
        check_budget(account, adapter)
        assert adapter.budget_share(poll, history) <= 0.5
    else:
        with pytest.raises(ConfigError, match=rf"would use \d+% of {adapter.title}'s API rate limit: expected at most 50%"):
            check_budget(account, adapter)


def test_the_defaults_stay_well_inside_every_exchanges_limit():
    for name in ("binance", "bybit", "okx"):
        assert exchange(name).account_class()().budget_share(10.0, 20.0) < 0.1, name


def test_the_environment_adds_an_account_per_exchange_with_nothing_to_configure():
    environ = {"BINANCE_API_KEY": "k1", "BINANCE_API_SECRET": "s1", "OKX_API_KEY": "k2", "OKX_API_SECRET": "s2",
               "OKX_API_PASSPHRASE": "p2", "OKX_API_URL": "https://www.okx.com", "BYBIT_API_KEY": "",
               "BYBIT_API_SECRET": ""}
    accounts = environment_accounts(environ)
    assert [(a.name, a.exchange, a.api_key_env, a.api_passphrase_env, a.api_url) for a in accounts] == [
        ("binance", "binance", "BINANCE_API_KEY", None, None),
        ("okx", "okx", "OKX_API_KEY", "OKX_API_PASSPHRASE", "https://www.okx.com")]
    assert environment_accounts(environ, configured=["binance"])[0].name == "okx"  # the config file's wins


def test_half_a_set_of_variables_is_one_line_naming_what_is_missing():
    with pytest.raises(ConfigError) as raised:
        environment_accounts({"BYBIT_API_SECRET": "s1"})
    assert str(raised.value) == ("environment: BYBIT_API_SECRET is set but BYBIT_API_KEY is not "
                                 "(the Bybit account needs BYBIT_API_KEY and BYBIT_API_SECRET)")


def _cli(capsys, *argv):
    code = cli.main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def test_the_cli_builds_accounts_from_the_environment_and_refuses_half_a_set(monkeypatch, capsys):
    monkeypatch.setenv("BINANCE_API_KEY", KEY)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    code, err = _cli(capsys, "--feed", "sim", "--watch-only")
    assert code == 2 and err.splitlines() == [
        "environment: BINANCE_API_KEY is set but BINANCE_API_SECRET is not (the Binance account needs "
        "BINANCE_API_KEY and BINANCE_API_SECRET)"]
    assert KEY not in err
    monkeypatch.setenv("BINANCE_API_SECRET", SECRET)
    args = cli.build_parser().parse_args(["--feed", "sim", "--watch-only"])
    config = cli.build_config(args)
    assert config.accounts == () and [a.name for a in config.exchange_accounts] == ["binance"]


def test_a_pure_watcher_needs_an_exchange_account(monkeypatch, capsys):
    for name in ("BINANCE", "BYBIT", "OKX"):
        monkeypatch.delenv(f"{name}_API_KEY", raising=False)
        monkeypatch.delenv(f"{name}_API_SECRET", raising=False)
    code, err = _cli(capsys, "--feed", "sim", "--watch-only")
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("config: --watch-only: expected an exchange account")


def test_a_drill_needs_a_paper_account(monkeypatch, capsys):
    monkeypatch.setenv("BYBIT_API_KEY", KEY)
    monkeypatch.setenv("BYBIT_API_SECRET", SECRET)
    code, err = _cli(capsys, "--feed", "sim", "--watch-only", "--drill", "crash")
    assert code == 2 and err == "config: --drill = 'crash': expected a paper account (drills trade on one)"


def test_a_key_that_can_withdraw_stops_start_up_in_one_line(monkeypatch, capsys, tmp_path):
    with standin("binance", permissions=CAN_WITHDRAW) as server:
        config = tmp_path / "config.yml"
        config.write_text(f"""
accounts: []
exchange_accounts:
  - {{name: real, exchange: binance, api_key_env: ACCOUNT_KEY, api_secret_env: ACCOUNT_SECRET, api_url: "{server.url}"}}
""")
        for variable, value in ENVIRON.items():
            monkeypatch.setenv(variable, value)
        code, err = _cli(capsys, "--feed", "sim", "--config", str(config))
        # Nothing but the permission check was asked.
        assert [r.path for r in server.requests] == ["/sapi/v1/account/apiRestrictions"]
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("account 'real': the Binance API key can withdraw (enabled: ")
    assert "refused; create a read-only key" in err and not any(c in err for c in CANARIES)


def test_a_paper_only_trader_never_loads_ccxt():
    # engine.py imports trader.accounts at the top; ccxt and the adapters must stay behind
    # build_watchers, so a paper trader starts without them (a fresh interpreter: nothing cached).
    code = ("import sys\n"
            "from trader.config import load_config_text\n"
            "from trader.engine import Trader\n"
            "Trader(load_config_text('feed: {kind: sim}'), feeds=[])\n"
            "print(sorted(m for m in sys.modules if m == 'ccxt' or m.startswith(('ccxt.', 'trader.accounts.'))))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
