"""Send one SMS through Twilio's Messages API.

    POST {api_url}/2010-04-01/Accounts/{sid}/Messages.json
    form: To, From, Body; HTTP basic auth sid:auth_token; 201 Created on success.

Any failure (timeout, connection refused, a non-2xx answer) is a ``ProviderError`` whose text
names the reason but never the token.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

__all__ = ["TwilioClient", "ProviderError", "DEFAULT_TWILIO_API_URL"]

DEFAULT_TWILIO_API_URL = "https://api.twilio.com"


class ProviderError(RuntimeError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # bounded: timeout, connection, http_4xx, http_5xx (a metric label)


@dataclass(frozen=True)
class TwilioClient:
    account_sid: str
    auth_token: str
    sender: str
    api_url: str = DEFAULT_TWILIO_API_URL
    # Alertmanager's webhook waits for our answer; a slow provider must fail before it gives up.
    timeout_seconds: float = 10.0

    def send(self, to: str, body: str, session: requests.Session | None = None) -> str:
        """Send ``body`` to ``to``; returns the provider's message sid."""
        url = f"{self.api_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        http = session or requests
        try:
            response = http.post(url, data={"To": to, "From": self.sender, "Body": body},
                                 auth=(self.account_sid, self.auth_token), timeout=self.timeout_seconds)
        except requests.Timeout:
            raise ProviderError("timeout", f"no answer from the SMS provider within {self.timeout_seconds:g}s") from None
        except requests.RequestException as error:
            raise ProviderError("connection", f"cannot reach the SMS provider ({type(error).__name__})") from None
        if not 200 <= response.status_code < 300:
            kind = "http_5xx" if response.status_code >= 500 else "http_4xx"
            raise ProviderError(kind, f"SMS provider answered {response.status_code}: {response.text[:200]!r}")
        try:
            return str(response.json().get("sid", ""))
        except ValueError:
            return ""
