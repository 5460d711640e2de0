"""No code path places, changes or cancels an order on an exchange account, and the tests prove it:

- the facade exposes reads only, and every read it allows is one of ccxt's GET methods;
- the package never names an order, cancel, edit, withdraw or transfer method, nor a POST, PUT
  or DELETE of ccxt's implicit API;
- a write called on the wrapped ccxt client itself is refused before a byte leaves;
- the stand-in exchanges record any order request (and fail the test at exit): shown here to
  catch one, then silent through full watches of all three exchanges.
"""

from __future__ import annotations

import asyncio
import re

import pytest
import requests

from tests.exchange_accounts.harness import run_closing, EXCHANGES, cycles, make_watcher, standin
from tests.support.trader import REPO_ROOT
from trader.accounts.readonly import READ_METHOD, ReadOnlyClient
from trader.exchanges import exchange

PACKAGE = REPO_ROOT / "trader" / "accounts"
# What would trade or move money: ccxt's unified order/transfer methods and its implicit writes.
FORBIDDEN = re.compile(
    r"\b(create_\w*order\w*|cancel_\w+|edit_\w*order\w*|withdraw|transfer|set_leverage|set_margin_mode|"
    r"set_position_mode|add_margin|reduce_margin|close_position|close_all_positions|"
    r"\w+_(post|put|delete)_\w+|createOrder|cancelOrder|editOrder)\(",  # a call: the name, then "("
)
WRITE_WORDS = ("create", "cancel", "edit", "order", "withdraw", "transfer", "leverage", "margin", "position", "post",
               "put", "delete")  # (``close`` is there: it closes the HTTP session)


def _adapters():
    return [exchange(name).account_class()() for name in EXCHANGES]


def test_the_package_never_names_a_method_that_trades_or_moves_money():
    sources = sorted(PACKAGE.glob("*.py"))
    assert {p.name for p in sources} >= {"readonly.py", "binance.py", "bybit.py", "okx.py", "watcher.py"}
    found = [f"{p.relative_to(REPO_ROOT)}:{n}: {line.strip()}" for p in sources
             for n, line in enumerate(p.read_text().splitlines(), 1) if FORBIDDEN.search(line)]
    assert not found, "\n".join(found)
    # The check sees what it is for.
    assert FORBIDDEN.search("await client.create_order('BTC/USDT', 'market', 'buy', 1)")
    assert FORBIDDEN.search("await api.fapiprivate_post_order(params)")
    assert FORBIDDEN.search("client.private_post_v5_order_create({})")
    assert not FORBIDDEN.search('"force_orders": "fapiprivate_get_forceorders",')


@pytest.mark.parametrize("name", EXCHANGES)
def test_every_allowed_read_is_a_get_in_ccxts_own_api_definition(name):
    from trader.accounts.credentials import Credentials

    adapter = exchange(name).account_class()()
    client = adapter.make_client(Credentials("k" * 8, "s" * 8, "p" * 8), "http://127.0.0.1:9", 1.0)
    for endpoint, method in adapter.reads.items():
        assert READ_METHOD.fullmatch(method), method
        entry = getattr(type(client), method).__closure__[0].cell_contents  # ccxt's Entry(path, api, method, config)
        assert entry.method == "GET", f"{name} {endpoint}: {method} is a {entry.method}"


def test_the_facade_exposes_reads_only():
    public = {name for name in dir(ReadOnlyClient) if not name.startswith("_")}
    assert public == {"exchange", "endpoints", "get", "set_time_offset", "scrub", "close"}
    assert not [n for n in public if any(word in n.lower() for word in WRITE_WORDS)]


def test_the_facade_refuses_a_write_in_its_allow_list_and_any_read_not_in_it():
    from trader.accounts.credentials import Credentials

    adapter = exchange("binance").account_class()()
    client = adapter.make_client(Credentials("k" * 8, "s" * 8), "http://127.0.0.1:9", 1.0)
    with pytest.raises(ValueError, match="not one of ccxt's implicit GET methods"):
        ReadOnlyClient("binance", client, {"order": "fapiprivate_post_order"}, (), adapter)
    with pytest.raises(ValueError, match="not one of ccxt's implicit GET methods"):
        ReadOnlyClient("binance", client, {"orders": "create_order"}, (), adapter)
    api = ReadOnlyClient("binance", client, adapter.reads, (), adapter)
    with pytest.raises(ValueError, match="not an allowed read"):
        asyncio.run(api.get("order"))


def test_a_write_called_on_the_wrapped_client_itself_never_leaves():
    with standin("binance") as server:
        watcher, _ = make_watcher("binance", server)
        client = watcher.api._ReadOnlyClient__client  # reaching past the facade, as a bug would

        async def try_to_trade():
            with pytest.raises(PermissionError, match="read-only account: refused a POST request"):
                await client.fapiprivate_post_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                     "quantity": "0.001"})
            with pytest.raises(PermissionError, match="refused a DELETE request"):
                await client.fapiprivate_delete_allopenorders({"symbol": "BTCUSDT"})

        run_closing(watcher, try_to_trade)
        assert server.requests == []  # nothing reached the exchange


def test_the_standin_catches_an_order_request():
    server = standin("bybit")
    with pytest.raises(AssertionError, match="order requests reached the exchange"):
        with server:
            requests.post(f"{server.url}/v5/order/create", json={"symbol": "BTCUSDT"}, timeout=5)
            requests.get(f"{server.url}/v5/order/realtime", timeout=5)
    assert [r.path for r in server.order_requests] == ["/v5/order/create", "/v5/order/realtime"]


@pytest.mark.parametrize("name", EXCHANGES)
def test_a_whole_watch_sends_nothing_but_gets(name):
    with standin(name) as server:  # its exit fails the test on any order request
        watcher, _ = make_watcher(name, server, throttle=True)  # as in production
        asyncio.run(cycles(watcher, 3))
        assert server.requests and {r.method for r in server.requests} == {"GET"}
        assert not server.auth_failures  # signed as the exchange requires
