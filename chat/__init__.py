"""The chat service: ask the stack and answer its alerts from Telegram and Discord (issue 15).

``python -m chat``. One module decides what to say (``commands.py``: a command in, replies out,
transport-neutral); thin transports carry it (``telegram.py``: python-telegram-bot long polling;
``discord_bot.py``: a discord.py gateway bot); clients read the stack (``clients.py``:
Prometheus' API, Alertmanager's API v2, the trader's control API, the reports service).
``acks.py`` removes an ack's silence once its alert resolves. See chat/README.md.
"""
