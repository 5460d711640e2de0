"""Alertmanager: the config render step, the message templates and the SMS relay."""
