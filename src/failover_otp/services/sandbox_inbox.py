"""The sandbox's inbox: what the phone of a flow "received", so a generated code can be tried
with ``POST /otp/verify`` without choosing the pin yourself.

It reads the embedded sandbox's in-memory record of each message (``RouteeSim.find``), which
holds the content exactly as the provider got it, code included. A message counts as received
once the sandbox has delivered it (the outcome table, as a phone would see it). There is no
such thing with the real provider: the route exists only when the provider is the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from failover_otp.domain.code_text import PIN_PLACEHOLDER
from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.errors import NotFound
from failover_otp.services.flows import FlowService


class SandboxMessage(Protocol):
    """A message as the sandbox took it."""

    @property
    def channel(self) -> Channel: ...

    @property
    def to(self) -> str: ...

    @property
    def extra(self) -> dict[str, Any]: ...


M = TypeVar("M", bound=SandboxMessage)


class SandboxMessages(Protocol[M]):
    """The embedded sandbox's record of the messages it took (``RouteeSim``)."""

    def find(self, message_id: str) -> M | None: ...

    def current(self, message: M) -> tuple[StepStatus, str | None]: ...


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    tracking_id: str
    channel: Channel
    to: str
    text: str
    code: str | None
    status: str
    delivered: bool

    def body(self) -> dict[str, object]:
        return {
            "trackingId": self.tracking_id,
            "channel": self.channel.value,
            "to": self.to,
            "text": self.text,
            "code": self.code,
            "status": self.status,
            "delivered": self.delivered,
        }


def code_in_text(template: str, text: str) -> str | None:
    """The code in ``text``, an SMS body sent from ``template`` (which says ``{pin}`` where the
    code goes): what is left once the template's text around the placeholder is taken off."""
    before, found, after = template.partition(PIN_PLACEHOLDER)
    if not found or not text.startswith(before) or not text.endswith(after):
        return None
    code = text[len(before) : len(text) - len(after)]
    return code or None


# A phone has the message once it is delivered (and still has it once read).
_RECEIVED = frozenset({StepStatus.DELIVERED, StepStatus.SEEN, StepStatus.COMPLETED})


def _text_and_code(
    channel: Channel, content: dict[str, object], template: str | None
) -> tuple[str, str | None]:
    if channel is Channel.VIBER:
        pin = content.get("pin")
        if not pin:
            return str(content.get("text") or ""), None
        # A Viber OTP is one of Viber's own templates: the phone shows it around the code.
        return f"Viber OTP (template {content.get('templateId')}): {pin}", str(pin)
    message = content.get("message")
    body = message.get("body") if isinstance(message, dict) else None
    text = str(body or "")
    return text, code_in_text(template, text) if template else None


def inbox(record: FlowRecord, sandbox: SandboxMessages[Any]) -> list[ReceivedMessage]:
    """The flow's messages the sandbox accepted, in order, with the code each carried."""
    received: list[ReceivedMessage] = []
    for step in record.flow.steps:
        message = sandbox.find(step.tracking_id)
        if message is None:
            continue  # refused, or not sent yet
        content = message.extra.get("content")
        content = content if isinstance(content, dict) else {}
        stored = record.meta.request[step.index] if step.index < len(record.meta.request) else {}
        stored_message = stored.get("message")
        template = stored_message.get("body") if isinstance(stored_message, dict) else None
        text, code = _text_and_code(message.channel, content, template)
        status, _ = sandbox.current(message)
        received.append(
            ReceivedMessage(
                tracking_id=step.tracking_id,
                channel=message.channel,
                to=message.to,
                text=text,
                code=code,
                status=status.render(message.channel),
                delivered=status in _RECEIVED,
            )
        )
    return received


@dataclass(frozen=True, slots=True)
class FlowInbox:
    """One flow's messages as its phone has them."""

    flow_id: str
    phone: str
    created_at: datetime
    messages: list[ReceivedMessage]


class SandboxInbox:
    """The inbox use case, with the running provider: ``GET /sandbox/inbox/{flowId}`` and the
    dashboard's Sandbox inbox page (an application's flow by flow id or tracking id, or flows
    already read, with what the sandbox's phone received of each)."""

    def __init__(self, flows: FlowService, sandbox: SandboxMessages[Any] | None) -> None:
        self.flows = flows
        # None: the service runs the real provider, which has no inbox.
        self.sandbox = sandbox

    @property
    def available(self) -> bool:
        """Only the embedded sandbox has an inbox; the real provider none."""
        return self.sandbox is not None

    def _sandbox(self) -> SandboxMessages[Any]:
        if self.sandbox is None:
            raise NotFound("there is no inbox: the service does not run the sandbox")
        return self.sandbox

    async def flow(self, application_id: str, any_id: str) -> FlowInbox | None:
        self._sandbox()
        record = await self.flows.read(application_id, any_id)
        return None if record is None else self.of(record)

    def of(self, record: FlowRecord) -> FlowInbox:
        flow = record.flow
        messages = inbox(record, self._sandbox())
        return FlowInbox(flow.id, record.meta.phone, flow.created_at, messages)

    async def messages(self, application_id: str, any_id: str) -> dict[str, Any]:
        found = await self.flow(application_id, any_id)
        if found is None:
            raise NotFound(f"no flow or message {any_id!r}")
        return {"flowId": found.flow_id, "messages": [m.body() for m in found.messages]}
