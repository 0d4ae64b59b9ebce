"""One step's send to the provider: the request from the stored flow, the managed code filled in
right before it leaves, a retry that first asks whether the earlier attempt got through, and the
provider's answer as the event the flow decides next."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog

from failover_otp.domain.commands import SendStep
from failover_otp.domain.events import Event, SendAccepted, SendRejected
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import RejectReason
from failover_otp.metrics import PROVIDER_LATENCY, PROVIDER_SENDS
from failover_otp.providers.base import (
    Provider,
    ProviderError,
    ProviderUnavailable,
    SendOutcomeUnknown,
    SendReceipt,
    SendRefused,
    SendRequest,
)

log = structlog.get_logger(__name__)

SendPreparer = Callable[[FlowRecord, SendRequest], Awaitable[SendRequest]]


class StepSender:
    def __init__(self, provider: Provider, prepare_send: SendPreparer | None = None) -> None:
        self.provider = provider
        # Fills in what the stored content leaves out (a managed code) right before a send; it
        # may refuse the send (SendRefused): the code book's (services/codes.py), built first.
        self.prepare_send = prepare_send

    async def send(self, record: FlowRecord, command: SendStep) -> Event | None:
        """Call the provider for one step: its answer as the event to decide next (None: the
        outcome is unknown, left for the step's SEND_RETRY deadline)."""
        request = self._send_request(record, command.index)
        channel = request.channel.value
        started = time.perf_counter()
        event: Event
        try:
            if self.prepare_send is not None:
                request = await self.prepare_send(record, request)
            receipt: SendReceipt | None = None
            if command.retry:
                receipt = await self._find_earlier_send(request)
            if receipt is None:
                receipt = await self.provider.send(request)
                PROVIDER_SENDS.labels(channel, "accepted").inc()
            else:
                # The earlier attempt reached the provider: nothing was sent this time.
                PROVIDER_SENDS.labels(channel, "recovered").inc()
            event = SendAccepted(
                index=command.index,
                message_id=receipt.message_id,
                status=receipt.status,
                price=receipt.price,
                parts=receipt.parts,
                country=receipt.country,
                operator=receipt.operator,
            )
        except SendRefused as refused:
            PROVIDER_SENDS.labels(channel, refused.reason.value).inc()
            event = SendRejected(command.index, refused.reason, refused.message)
        except ProviderUnavailable as exc:
            PROVIDER_SENDS.labels(channel, "unavailable").inc()
            event = SendRejected(
                command.index, RejectReason.SERVER_ERROR, f"provider unavailable: {exc}"
            )
        except SendOutcomeUnknown as exc:
            PROVIDER_SENDS.labels(channel, "unknown").inc()
            # Left for the SEND_RETRY deadline, which looks the message up before re-sending.
            log.warning(
                "send outcome unknown", flow_id=record.flow.id, step=command.index, error=str(exc)
            )
            return None
        except ProviderError as exc:
            PROVIDER_SENDS.labels(channel, "error").inc()
            event = SendRejected(command.index, RejectReason.SERVER_ERROR, str(exc))
        finally:
            PROVIDER_LATENCY.labels(channel).observe(time.perf_counter() - started)
        return event

    async def _find_earlier_send(self, request: SendRequest) -> SendReceipt | None:
        """The message an unanswered earlier attempt may have created: never send twice.

        When the provider cannot tell (Routee has no Viber search), the step is given up as a
        server error, so the flow fails over to its next channel instead of risking a duplicate.
        """
        try:
            return await self.provider.find_sent(request)
        except SendOutcomeUnknown as exc:
            raise SendRefused(RejectReason.SERVER_ERROR, f"send outcome unknown: {exc}") from None

    def _send_request(self, record: FlowRecord, index: int) -> SendRequest:
        plan = record.flow.plans[index]
        content = record.meta.request[index] if index < len(record.meta.request) else {}
        return SendRequest(
            flow_id=record.flow.id,
            step_index=index,
            channel=plan.channel,
            to=plan.to,
            ttl_seconds=plan.ttl_seconds,
            content=content,
            label=record.meta.step_label(index),
        )
