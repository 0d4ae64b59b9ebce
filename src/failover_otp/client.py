"""A small synchronous Python client of the service's HTTP API (used by the CLI)."""

from __future__ import annotations

import time
from typing import Any

import httpx


class ApiClientError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class FailoverOtpClient:
    """Fetches and caches a token from the application credentials; refreshes it on 401."""

    def __init__(
        self, base_url: str, app_id: str, app_secret: str, *, timeout: float = 30.0
    ) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._credentials = (app_id, app_secret)
        self._token: str | None = None
        self._token_expires = 0.0

    def __enter__(self) -> FailoverOtpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def token(self, *, renew: bool = False) -> str:
        if renew or self._token is None or time.monotonic() > self._token_expires:
            response = self._http.post(
                "/oauth/token",
                auth=self._credentials,
                data={"grant_type": "client_credentials"},
            )
            body = _json(response)
            if response.status_code != 200:
                raise ApiClientError(response.status_code, body)
            self._token = body["access_token"]
            self._token_expires = time.monotonic() + float(body["expires_in"]) * 0.9
        assert self._token is not None
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        for renew in (False, True):
            headers = {"Authorization": f"Bearer {self.token(renew=renew)}"}
            response = self._http.request(method, path, headers=headers, **kwargs)
            if response.status_code != 401:
                break
        body = _json(response)
        if response.status_code >= 400:
            raise ApiClientError(response.status_code, body)
        return body

    def send_failover(self, payload: dict[str, Any]) -> Any:
        return self.request("POST", "/otp/send-failover", json=payload)

    def get_failover(self, flow_or_tracking_id: str) -> Any:
        return self.request("GET", f"/otp/failover/{flow_or_tracking_id}")

    def list_failovers(self, **filters: Any) -> Any:
        params = {k: v for k, v in filters.items() if v is not None}
        return self.request("GET", "/otp/failover", params=params)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"message": response.text}
