"""The real Routee provider: sends over Routee's SMS and Viber APIs with aiohttp.

aiohttp rather than httpx because the provider call sits on the hot path of every send and
httpx measured 7-20x slower under concurrency on the project's machine. One ``ClientSession``
(pool of ``routee_max_connections``) lives as long as the provider.

A send is retried (capped exponential backoff, full jitter) only when Routee cannot have taken
the message: a 429/500/502/503 answer, or a failure before the request's headers left (an
aiohttp trace hook tells the two apart). Once the request has left and no readable answer came
back, the send is *ambiguous*: Routee has no idempotency key, so instead of re-sending the
provider looks the message up (:meth:`RouteeProvider.find_sent`) and raises
:class:`SendOutcomeUnknown` only when it cannot find it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import aiohttp

from failover_otp.domain.statuses import Channel, RejectReason
from failover_otp.metrics import register_cache
from failover_otp.phones import describe
from failover_otp.providers.base import (
    DeliveryReport,
    ProviderError,
    ProviderUnavailable,
    ReportSink,
    SendOutcomeUnknown,
    SendReceipt,
    SendRefused,
    SendRequest,
)
from failover_otp.providers.retry import SEND_BACKOFF, retry_unavailable
from failover_otp.providers.routee import bodies, errors, wire
from failover_otp.providers.routee.auth import TokenCache, TokenGrant, parse_grant
from failover_otp.providers.routee.wire_choices import (
    ViberButtonField,
    ViberOtpRecipient,
    WireChoices,
)
from failover_otp.retrying import Backoff, retry
from failover_otp.setting_groups import RouteeSettings

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_SECONDS = 2.0
# Searches for a send whose answer was lost, ~0.5 s and ~1 s apart: Routee's search may lag.
RECONCILE_BACKOFF = Backoff(attempts=3, wait_initial=0.5, wait_max=1.5, wait_jitter=0.25)
# Without a record of when a send was tried (after a restart), search this far back.
SEARCH_WINDOW = timedelta(hours=24)
SEARCH_SLACK = timedelta(minutes=1)
SEARCH_PAGE_SIZE = 100
SEARCH_MAX_PAGES = 5
# Sends remembered (when each was tried, and its answer) for find_sent: a retry comes within
# seconds to minutes of its attempt, so the latest sends are enough (~0.5 KB each). One that
# was forgotten is searched for (SMS) or given up as unknown (Viber), as after a restart.
ATTEMPTS_KEPT = 4_096


class _NotFoundYet(Exception):
    """A search for a send whose answer was lost found nothing (yet)."""


@dataclass(slots=True)
class _Progress:
    """Filled in by the trace hook: did the request's headers leave?"""

    sent: bool = False


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    raw: bytes
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> errors.RouteeError:
        try:
            payload = wire.parse_json(self.raw)
        except wire.MalformedBody:
            payload = None
        return errors.read_error(self.status, payload, self.raw)


@dataclass(slots=True)
class _Attempt:
    started_at: datetime
    receipt: SendReceipt | None = None


async def _mark_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: object
) -> None:
    progress = context.trace_request_ctx
    if isinstance(progress, _Progress):
        progress.sent = True


def attempt_key(request: SendRequest) -> str:
    """One logical send: retries of the same step share it."""
    return f"{request.flow_id}:{request.step_index}"


class RouteeProvider:
    """:class:`~failover_otp.providers.base.Provider` over Routee's public HTTP API.

    Delivery reports are pushed by Routee to ``{public_url}/callbacks/routee/{callback_token}``;
    the API route hands the body to :meth:`parse_callback`. ``callback_token`` overrides the
    one in ``settings`` (the service generates and stores one when the setting is empty).
    """

    def __init__(self, settings: RouteeSettings, *, callback_token: str | None = None) -> None:
        self._base = settings.routee_base_url.rstrip("/")
        self._auth_url = settings.routee_auth_url
        self._basic_auth = aiohttp.encode_basic_auth(
            settings.routee_app_id, settings.routee_app_secret.get_secret_value()
        )
        self._timeout = aiohttp.ClientTimeout(total=settings.routee_timeout_seconds)
        self._max_connections = settings.routee_max_connections
        token = callback_token
        if token is None:
            token = settings.callback_token.get_secret_value()
        self.callback_url = bodies.callback_url(settings.public_url, token)
        self.wire_choices = WireChoices(
            ViberOtpRecipient(settings.routee_viber_otp_to),
            ViberButtonField(settings.routee_viber_button_field),
        )
        self.tokens = TokenCache(self._fetch_token)
        self._session: aiohttp.ClientSession | None = None
        self._sink: ReportSink | None = None
        self._attempts: OrderedDict[str, _Attempt] = OrderedDict()
        register_cache("routee_send_attempts", self._attempts.__len__, ATTEMPTS_KEPT)

    # -- Provider protocol -------------------------------------------------------------------

    async def start(self, sink: ReportSink) -> None:
        """Keep the sink; reports arrive through the API's callback route, not from here."""
        self._sink = sink

    async def send(self, request: SendRequest) -> SendReceipt:
        try:
            path, body = bodies.send_path_and_body(request, self.callback_url, self.wire_choices)
        except ValueError as exc:
            raise SendRefused(RejectReason.INVALID_REQUEST, str(exc)) from None
        key = attempt_key(request)
        attempt = self._attempts.get(key) or self._remember(key, _Attempt(datetime.now(UTC)))
        try:
            receipt = await retry_unavailable(lambda: self._send_once(request, path, body))
        except ProviderUnavailable as exc:
            raise SendRefused(
                RejectReason.SERVER_ERROR, f"{exc} (gave up after {SEND_BACKOFF.attempts} attempts)"
            ) from exc
        except SendOutcomeUnknown as exc:
            found = await self._reconcile(request)
            if found is None:
                raise SendOutcomeUnknown(
                    f"{exc}; no such message could be found, so it may or may not exist"
                ) from exc
            log.info("routee send answer lost, message found by search", extra={"key": key})
            receipt = found
        attempt.receipt = receipt
        return receipt

    async def lookup(self, channel: Channel, message_id: str) -> DeliveryReport | None:
        """The message's tracking (SMS §4.3, Viber §5.4); None when Routee does not know it.

        Raises:
            ProviderUnavailable: Routee could not be asked, or answered unreadably.
        """
        if channel is Channel.SMS:
            path = f"/sms/tracking/single/{quote(message_id, safe='')}"
        elif channel is Channel.VIBER:
            path = f"/viber/tracking/{quote(message_id, safe='')}"
        else:
            return None
        answer = await self._read("GET", path)
        if answer.status == 404:
            return None
        payload = self._payload_of(answer, "tracking")
        if channel is Channel.SMS:
            return wire.report_from_sms_tracking(message_id, payload)
        return wire.report_from_object(payload) if isinstance(payload, dict) else None

    async def find_sent(self, request: SendRequest) -> SendReceipt | None:
        """The message already accepted for ``request``, if Routee can tell.

        Answers from memory when this process read the send's answer; otherwise SMS are
        searched (``POST /sms/tracking``, by number, matched on body and label). Routee offers
        no search for Viber messages, so for an unanswered Viber send this raises
        :class:`SendOutcomeUnknown` rather than let the caller send it a second time.
        """
        attempt = self._attempts.get(attempt_key(request))
        if attempt is not None and attempt.receipt is not None:
            return attempt.receipt
        if request.channel is not Channel.SMS:
            # Re-sending could deliver the message twice; the caller fails over instead.
            raise SendOutcomeUnknown(
                f"Routee offers no search for {request.channel.type_name} messages: "
                "an unanswered send cannot be confirmed"
            )
        now = datetime.now(UTC)
        since = (attempt.started_at if attempt else now - SEARCH_WINDOW) - SEARCH_SLACK
        end = now + SEARCH_SLACK  # the search takes whole seconds; a send may be this second
        params = {"dateStart": wire.routee_time(since), "dateEnd": wire.routee_time(end)}
        filters = wire.sms_search_filters(request.to)
        text = bodies.message_text(request)
        for page in range(SEARCH_MAX_PAGES):
            page_params = {**params, "page": str(page), "size": str(SEARCH_PAGE_SIZE)}
            answer = await self._read(
                "POST", "/sms/tracking", json_body=filters, params=page_params
            )
            payload = self._payload_of(answer, "search")
            item = wire.match_sms(payload, to=request.to, body=text, label=request.label)
            if item is not None:
                return self._with_origin(wire.receipt_from_search(item), request.to)
            if wire.is_last_page(payload):
                break
        return None

    @staticmethod
    def parse_callback(body: bytes) -> list[DeliveryReport]:
        """Reports in a callback body; raises ``wire.MalformedBody`` when it is not JSON."""
        return wire.parse_callback(body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- sending -----------------------------------------------------------------------------

    async def _send_once(
        self, request: SendRequest, path: str, body: dict[str, Any]
    ) -> SendReceipt:
        answer = await self._exchange("POST", path, json_body=body, may_double=True)
        if answer.ok:
            try:
                receipt = wire.read_receipt(request.channel, wire.parse_json(answer.raw))
            except wire.MalformedBody as exc:
                # A 2xx means Routee most likely took the message: find it, never re-send.
                raise SendOutcomeUnknown(
                    f"Routee answered HTTP {answer.status} but {exc}"
                ) from None
            return self._with_origin(receipt, request.to)
        failure = errors.send_failure(answer.error())
        if isinstance(failure, ProviderUnavailable) and answer.retry_after:
            # The backoff waits this long before the next try (capped: the request that sends
            # is waiting too).
            failure.retry_after = min(answer.retry_after, RETRY_AFTER_CAP_SECONDS)
        raise failure

    async def _reconcile(self, request: SendRequest) -> SendReceipt | None:
        if request.channel is not Channel.SMS:
            return None  # nothing to search: the send stays ambiguous

        async def search() -> SendReceipt:
            try:
                found = await self.find_sent(request)
            except ProviderError as exc:
                log.warning("routee search failed while reconciling a send: %s", exc)
                raise _NotFoundYet from exc
            if found is None:
                raise _NotFoundYet
            return found

        try:
            return await retry(search, on=_NotFoundYet, backoff=RECONCILE_BACKOFF)
        except _NotFoundYet:
            return None

    def _remember(self, key: str, attempt: _Attempt) -> _Attempt:
        self._attempts[key] = attempt
        while len(self._attempts) > ATTEMPTS_KEPT:
            self._attempts.popitem(last=False)
        return attempt

    @staticmethod
    def _with_origin(receipt: SendReceipt, to: str) -> SendReceipt:
        """Routee's SMS answer names no country or operator: take them from the number."""
        if receipt.country and receipt.operator:
            return receipt
        country, operator = describe(to)
        return dataclasses.replace(
            receipt, country=receipt.country or country, operator=receipt.operator or operator
        )

    # -- HTTP --------------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_mark_sent)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
                trace_configs=[trace],
            )
        return self._session

    async def _read(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> _Answer:
        """A request that cannot send anything: every failure is ``ProviderUnavailable``."""
        try:
            return await self._exchange(method, path, json_body=json_body, params=params)
        except SendRefused as exc:  # credentials refused: not a send, so not a refusal
            raise ProviderUnavailable(exc.message) from exc

    @staticmethod
    def _payload_of(answer: _Answer, what: str) -> Any:
        if not answer.ok:
            raise ProviderUnavailable(f"Routee {what} failed: {answer.error().describe()}")
        try:
            return wire.parse_json(answer.raw)
        except wire.MalformedBody as exc:
            raise ProviderUnavailable(f"Routee {what} answer is unreadable: {exc}") from None

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        may_double: bool = False,
    ) -> _Answer:
        """One request with a current token, repeated once with a fresh one on 401/403."""
        token = await self.tokens.token()
        answer = await self._once(method, path, token, json_body, params, may_double)
        if answer.status in (401, 403):
            token = await self.tokens.refresh(token)
            answer = await self._once(method, path, token, json_body, params, may_double)
        return answer

    async def _once(
        self,
        method: str,
        path: str,
        token: str,
        json_body: Any,
        params: dict[str, str] | None,
        may_double: bool,
    ) -> _Answer:
        url = self._base + path
        progress = _Progress()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data: bytes | None = None
        if json_body is not None:
            data = wire.dump_json(json_body)
            headers["Content-Type"] = "application/json"
        try:
            async with self._client().request(
                method, url, data=data, params=params, headers=headers, trace_request_ctx=progress
            ) as response:
                raw = await response.read()
                retry_after = errors.retry_after_seconds(response.headers.get("Retry-After"))
                return _Answer(response.status, raw, retry_after)
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if may_double and progress.sent:
                raise SendOutcomeUnknown(
                    f"no answer from Routee to {method} {path} ({reason})"
                ) from None
            raise ProviderUnavailable(
                f"cannot reach Routee for {method} {path} ({reason})"
            ) from None

    async def _fetch_token(self) -> TokenGrant:
        form = {"grant_type": "client_credentials"}
        try:
            async with self._client().post(
                self._auth_url, data=form, headers={"Authorization": self._basic_auth}
            ) as response:
                answer = _Answer(response.status, await response.read(), None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ProviderUnavailable(f"cannot reach Routee's token endpoint ({exc!r})") from None
        if not answer.ok:
            raise errors.token_failure(answer.error())
        try:
            return parse_grant(wire.parse_json(answer.raw))
        except wire.MalformedBody as exc:
            raise ProviderUnavailable(f"Routee's token answer is unreadable: {exc}") from None
