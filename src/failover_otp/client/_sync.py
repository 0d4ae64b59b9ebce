"""The synchronous client (``httpx.Client``); ``_async.py`` is its mirror image."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from failover_otp.client._core import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    ApiConnectionError,
    RetryPolicy,
    TokenCache,
    clean_params,
    decode,
    never_sent,
    new_idempotency_key,
    retryable,
    viber_sms_payload,
)
from failover_otp.client.errors import ApiClientError, error_for
from failover_otp.client.models import (
    Delivery,
    DeliveryPage,
    FlowStory,
    Health,
    Inbox,
    SendAnswer,
    StandardSendAnswer,
    Tracking,
    TrackingPage,
    VerifyResult,
    WebhookSecret,
)

FINAL_STATUSES = frozenset({"Succeeded", "Failed"})


class FailoverOtpClient:
    """The service's HTTP API from Python, synchronously.

    Gets an access token with the application's credentials, keeps it until shortly before it
    expires and fetches a new one when the service answers 401; retries what is safe to retry
    (see :class:`RetryPolicy`). Every send carries an ``Idempotency-Key`` (a fresh UUID unless
    you give one), so a send is retried too, and never delivered twice.

    >>> with FailoverOtpClient("http://127.0.0.1:8080", app_id, secret) as api:
    ...     sent = api.send_otp("+306912345671", pin="482913", label="login")
    ...     story = api.wait_for_flow(sent["flowId"])
    """

    def __init__(
        self,
        base_url: str,
        app_id: str,
        app_secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        auto_idempotency_keys: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )
        self._credentials = (app_id, app_secret)
        self._tokens = TokenCache()
        self._token_lock = threading.Lock()
        self.retry = retry or RetryPolicy()
        self.auto_idempotency_keys = auto_idempotency_keys

    def __enter__(self) -> FailoverOtpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------------

    def token(self, *, renew: bool = False) -> str:
        """A valid access token: the cached one, or a new one from ``POST /oauth/token``."""
        cached = None if renew else self._tokens.valid()
        if cached is not None:
            return cached
        with self._token_lock:
            cached = None if renew else self._tokens.valid()
            if cached is not None:
                return cached
            body = self._send(
                "POST",
                "/oauth/token",
                bearer=False,
                safe=True,
                auth=self._credentials,
                data={"grant_type": "client_credentials"},
            )
            return self._tokens.store(body)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        safe: bool = False,
    ) -> Any:
        """An authenticated call; the decoded JSON answer, or :class:`ApiClientError`."""
        return self._send(
            method,
            path,
            bearer=True,
            safe=safe,
            params=clean_params(params or {}),
            json=json,
            headers=dict(headers or {}),
        )

    def _send(self, method: str, path: str, *, bearer: bool, safe: bool, **kwargs: Any) -> Any:
        headers: dict[str, str] = kwargs.pop("headers", None) or {}
        may_retry = retryable(method, headers, safe=safe)
        attempt, renewed = 0, False
        while True:
            attempt += 1
            if bearer:
                headers["Authorization"] = f"Bearer {self.token()}"
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt, None) if may_retry or never_sent(exc) else None
                if wait is None:
                    raise ApiConnectionError(exc, str(self._http.base_url)) from exc
                time.sleep(wait)
                continue
            if response.status_code == 401 and bearer and not renewed:
                # Expired or revoked token: one new token, one more try (not a retry).
                renewed = True
                attempt -= 1
                self._tokens.clear()
                continue
            if may_retry and response.status_code in self.retry.statuses:
                wait = self.retry.wait(attempt, response)
                if wait is not None:
                    time.sleep(wait)
                    continue
            body = decode(response)
            if response.status_code >= 400:
                raise error_for(response.status_code, body, response.headers)
            return body

    def _key(self, idempotency_key: str | None) -> dict[str, str]:
        key = idempotency_key or (new_idempotency_key() if self.auto_idempotency_keys else None)
        return {"Idempotency-Key": key} if key else {}

    # -- Failover OTP API ----------------------------------------------------------------------

    def send_failover(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> SendAnswer:
        """``POST /otp/send-failover`` with a request body of your own."""
        return SendAnswer.from_json(
            self.request(
                "POST", "/otp/send-failover", json=payload, headers=self._key(idempotency_key)
            )
        )

    def send_otp(
        self, phone: str, *, idempotency_key: str | None = None, **options: Any
    ) -> SendAnswer:
        """Send a code on Viber with SMS failover (options: see ``viber_sms_payload``)."""
        return self.send_failover(
            viber_sms_payload(phone, **options), idempotency_key=idempotency_key
        )

    def get_failover(self, flow_or_tracking_id: str) -> FlowStory:
        """``GET /otp/failover/{id}``: a flow's delivery story."""
        return FlowStory.from_json(self.request("GET", f"/otp/failover/{flow_or_tracking_id}"))

    def list_failovers(
        self,
        *,
        status: str | None = None,
        tag: str | None = None,
        phone_number: str | None = None,
        flow_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> DeliveryPage:
        """``GET /otp/failover``: one page of deliveries, newest first."""
        params = {
            "status": status,
            "tag": tag,
            "phone_number": phone_number,
            "flow_id": flow_id,
            "limit": limit,
            "offset": offset,
        }
        return DeliveryPage.from_json(self.request("GET", "/otp/failover", params=params))

    def iter_failovers(self, *, page_size: int = 200, **filters: Any) -> Iterator[Delivery]:
        """Every delivery matching the filters, page after page."""
        offset = 0
        while True:
            page = self.list_failovers(limit=page_size, offset=offset, **filters)
            yield from page.results
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return

    def wait_for_flow(
        self, flow_id: str, *, timeout: float = 600.0, interval: float = 0.5
    ) -> FlowStory:
        """Poll a flow until it ends (``Succeeded`` or ``Failed``) and every step has its verdict
        (``FlowStory.settled``); its story, as it stands at ``timeout`` at the latest."""
        deadline = time.monotonic() + timeout
        while True:
            story = self.get_failover(flow_id)
            if story.settled or time.monotonic() >= deadline:
                return story
            time.sleep(interval)

    def verify_code(self, flow_id: str, code: str) -> VerifyResult:
        """``POST /otp/verify``: check what the user typed (never retried: attempts count)."""
        body = {"flowId": flow_id, "code": code}
        return VerifyResult.from_json(self.request("POST", "/otp/verify", json=body))

    def sandbox_inbox(self, flow_id: str) -> Inbox:
        """``GET /sandbox/inbox/{flowId}``: what the sandbox's phone got (the code among it);
        404 unless the service runs the embedded sandbox."""
        return Inbox.from_json(self.request("GET", f"/sandbox/inbox/{flow_id}"))

    # -- standard Failover API -----------------------------------------------------------------

    def send_standard_failover(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> StandardSendAnswer:
        """``POST /failover``: a flow of Sms, Viber and Voice steps."""
        return StandardSendAnswer.from_json(
            self.request("POST", "/failover", json=payload, headers=self._key(idempotency_key))
        )

    def get_tracking(self, tracking_id: str) -> Tracking:
        """``GET /failover/tracking/{trackingId}`` (flows of either API)."""
        return Tracking.from_json(self.request("GET", f"/failover/tracking/{tracking_id}"))

    def search_trackings(
        self,
        filters: Sequence[Mapping[str, str]] = (),
        *,
        date_start: str | None = None,
        date_end: str | None = None,
        page: int = 0,
        size: int = 10,
    ) -> TrackingPage:
        """``POST /failover/tracking``: a read-only search (so it is retried like a GET).

        ``filters`` items are ``{"fieldName", "searchOperator", "searchTerm"}``."""
        params = {"dateStart": date_start, "dateEnd": date_end, "page": page, "size": size}
        answer = self.request(
            "POST", "/failover/tracking", params=params, json=list(filters), safe=True
        )
        return TrackingPage.from_json(answer)

    # -- the rest ------------------------------------------------------------------------------

    def webhook_secret(self) -> WebhookSecret:
        """``GET /webhooks/secret``: the key the application's webhooks are signed with."""
        return WebhookSecret.from_json(self.request("GET", "/webhooks/secret"))

    def health(self) -> Health:
        """``GET /health`` (no token needed)."""
        return Health.from_json(self._send("GET", "/health", bearer=False, safe=True))


__all__ = ["ApiClientError", "FailoverOtpClient"]
