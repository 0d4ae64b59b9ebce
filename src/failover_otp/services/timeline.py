"""A flow's timeline for the dashboard: each send, report, failover, code check and the outcome.

A pure function of the flow (and what is known of its code's checks). Events are ordered by
time, and by cause where times tie or a stored time lags its effect: an event never comes before
the one that caused it (a send after the failover that made it, a failover after the failure that
caused it), so an insufficient-balance refusal of the SMS is drawn after the Viber failure and
the failover it followed, even when the three share one instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from failover_otp.domain.flow import Flow
from failover_otp.domain.stats import CodeChecks
from failover_otp.domain.statuses import Outcome
from failover_otp.services.story import latency_ms


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    offset_ms: int  # since the flow started, in the flow's own (unscaled) time
    kind: str  # created | sent | refused | delivered | seen | failed | failover | verify | ended
    channel: str | None
    title: str
    detail: str = ""


def channel_name(channel: str) -> str:
    """How a person writes the channel: ``Viber``, ``SMS``, ``Voice``."""
    return {"sms": "SMS"}.get(channel, channel.capitalize())


def format_ms(value: int | float | None) -> str:
    """``850 ms``, ``2.0 s``, ``2 min 5 s``: a latency for a person."""
    if value is None:
        return ""
    if value < 1000:
        return f"{round(value)} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


class _Builder:
    """Collects events with their cause; ``ordered()`` sorts them by (time, never before the
    cause, then the order they were added in)."""

    def __init__(self, flow: Flow, time_scale: float, currency: str) -> None:
        self.flow = flow
        self.time_scale = time_scale
        self.currency = currency
        self.events: list[tuple[TimelineEvent, int | None]] = []

    def add(
        self,
        at: datetime,
        kind: str,
        channel: str | None,
        title: str,
        detail: str = "",
        *,
        cause: int | None,
    ) -> int:
        offset = max(0, round((at - self.flow.created_at).total_seconds() * 1000 * self.time_scale))
        self.events.append((TimelineEvent(at, offset, kind, channel, title, detail), cause))
        return len(self.events) - 1

    def ordered(self) -> list[TimelineEvent]:
        effective: list[datetime] = []
        for event, cause in self.events:  # a cause is always added before its effects
            at = event.at if cause is None else max(event.at, effective[cause])
            effective.append(at)
        order = sorted(range(len(self.events)), key=lambda i: (effective[i], i))
        return [self.events[i][0] for i in order]


def flow_timeline(
    flow: Flow,
    *,
    time_scale: float = 1.0,
    currency: str = "",
    checks: CodeChecks | None = None,
) -> list[TimelineEvent]:
    """What happened to ``flow``, in order (see the module's docstring)."""
    b = _Builder(flow, time_scale, currency)
    money = f" {currency}" if currency else ""
    last = b.add(
        flow.created_at, "created", None, "Flow created", f"{len(flow.plans)} step(s)", cause=None
    )
    # What made the next step's failover: the step's failure (even when stored later than the
    # failover), else its send (a ttl ran out) or the flow's start.
    cause_of_next = last
    previous = None
    for step in flow.steps:
        channel = step.channel.value
        name = channel_name(channel)
        status = step.status.render(step.channel)
        start = cause_of_next
        if previous is not None:
            why = previous.status.render(previous.channel)
            start = b.add(
                step.created_at,
                "failover",
                channel,
                f"Failover to {name}",
                f"{channel_name(previous.channel.value)} ended {why}",
                cause=cause_of_next,
            )
        sent = start
        if step.sent_at is not None:
            attempts = f", {step.send_attempts} attempts" if step.send_attempts > 1 else ""
            price = f"price {step.price:.4f}{money}" if step.price is not None else "no price yet"
            parts = f", {step.parts} parts" if step.parts > 1 else ""
            sent = b.add(
                step.sent_at, "sent", channel, f"{name} sent", price + parts + attempts, cause=start
            )
        failure = None
        if step.sent_at is None and step.status.outcome is Outcome.FAILURE:
            # Refused when the provider answered, not when the step was created.
            failure = b.add(
                step.updated_at,
                "refused",
                channel,
                f"{name} refused ({status})",
                step.error_message or "",
                cause=start,
            )
        end = failure if failure is not None else sent
        if step.delivered_at is not None:
            latency = latency_ms(step, time_scale)
            end = b.add(
                step.delivered_at,
                "delivered",
                channel,
                f"{name} delivered",
                f"latency {format_ms(latency)}" if latency is not None else "",
                cause=sent,
            )
        if step.status.value == "SEEN":
            end = b.add(step.updated_at, "seen", channel, f"{name} seen", cause=end)
        elif step.sent_at is not None and step.status.outcome is Outcome.FAILURE:
            detail = step.detailed_status or step.error_message or ""
            failure = b.add(
                step.updated_at, "failed", channel, f"{name} {status}", detail, cause=sent
            )
            end = failure
        previous = step
        cause_of_next = failure if failure is not None else sent
        last = max(last, end)
    if checks is not None:
        # After the sends that carried the code; the flow's end is not their effect (a
        # delivered flow may be Succeeded before its code is checked), so it keeps its own time.
        _code_checks(b, checks, after=last)
    if flow.status.is_terminal:
        code = f"statusCode {int(flow.status_code)}" if flow.status_code is not None else ""
        cost = f"total cost {flow.total_cost:.4f}{money}"
        b.add(
            flow.updated_at,
            "ended",
            None,
            f"Flow {flow.status.value}",
            ", ".join(x for x in (cost, code) if x),
            cause=last,
        )
    return b.ordered()


def _code_checks(b: _Builder, checks: CodeChecks, *, after: int) -> None:
    """The code's checks, after the send that carried the code (their times are not stored:
    the wrong ones are drawn together, before the approval when there was one)."""
    last = after
    anchor = b.events[after][0].at
    if checks.wrong:
        plural = "s" if checks.wrong > 1 else ""
        last = b.add(
            checks.verified_at or anchor,
            "verify",
            None,
            f"{checks.wrong} wrong code{plural} entered",
            "POST /otp/verify answered wrong_code (the attempts' times are not kept)",
            cause=last,
        )
    if checks.verified_at is not None:
        tries = f"attempt {checks.attempts}" if checks.attempts else "approved"
        b.add(
            checks.verified_at, "verify", None, "Code verified", f"approved ({tries})", cause=last
        )
