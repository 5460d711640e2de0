"""The stack doctor: checks a running stack through each service's own HTTP API.

    python -m doctor                          # the stack on localhost (compose's published ports)
    docker compose run --rm doctor            # the same from inside the compose network
    docker compose run --rm doctor --notify   # and send a test notification to every channel

One line per check, ✔ or ✘, and for each ✘ the likely cause and the command that fixes it. The
exit code is 0 only when everything alerts need to reach a person works (``doctor.result``
says which checks those are); Grafana, Loki, Alloy and the trader's own state are shown but do
not change it.

Layout: ``checks/`` holds one module per checked service, ``result`` the check type,
``http`` the one HTTP client (a service that cannot be reached is one line, never a traceback),
``notify`` the test notification, ``report`` the text and JSON renderers, ``cli`` the entry
point. Nothing here imports the trading core: the doctor only talks to the services' APIs.
"""
