"""``send --count N``: many sends at once with a progress bar, then a summary.

Refusals are grouped by their kind (status and code: ``HTTP 429 rate_limited``), counted, and
shown with the first message of the kind, so 19 refusals of one limit read as one row.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from failover_otp.cli.output import console, styled

if TYPE_CHECKING:
    from rich.table import Table

    from failover_otp.client import ApiClientError, FlowStory, SendAnswer


@dataclass
class BulkOutcome:
    answers: list[SendAnswer] = field(default_factory=list)
    stories: list[FlowStory] | None = None  # with --wait: every flow, ended
    errors: list[ApiClientError] = field(default_factory=list)


def error_kind(error: ApiClientError) -> str:
    if not error.status:
        return "no answer"
    return f"HTTP {error.status} {error.code}" if error.code else f"HTTP {error.status}"


def grouped_errors(errors: list[ApiClientError]) -> list[tuple[str, int, str]]:
    """(kind, how many, the first message of that kind), the commonest first."""
    counts = Counter(error_kind(e) for e in errors)
    first: dict[str, str] = {}
    for error in errors:
        first.setdefault(error_kind(error), error.message)
    return [(kind, count, first[kind]) for kind, count in counts.most_common()]


async def send_many(
    url: str,
    credentials: tuple[str, str],
    payloads: list[dict[str, Any]],
    *,
    concurrency: int,
    wait: bool,
) -> BulkOutcome:
    """Send every payload (``concurrency`` at a time) with a progress bar; then, with ``wait``,
    follow the flows until they have all ended."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from failover_otp.client import ApiClientError, AsyncFailoverOtpClient

    outcome = BulkOutcome()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    gate = asyncio.Semaphore(concurrency)
    async with AsyncFailoverOtpClient(url, *credentials) as api:
        with Progress(*columns, console=console()) as progress:
            sending = progress.add_task("sending", total=len(payloads))

            async def one(payload: dict[str, Any]) -> None:
                async with gate:
                    try:
                        outcome.answers.append(await api.send_failover(payload))
                    except ApiClientError as exc:
                        outcome.errors.append(exc)
                    progress.advance(sending)

            await asyncio.gather(*(one(p) for p in payloads))
            flow_ids = [a.flowId for a in outcome.answers if a.flowId]
            if not wait:
                return outcome
            ending = progress.add_task("waiting for the flows to end", total=len(flow_ids))
            stories: dict[str, FlowStory] = {}
            while len(stories) < len(flow_ids):
                for flow_id in [f for f in flow_ids if f not in stories]:
                    async with gate:
                        story = await api.get_failover(flow_id)
                    if story.settled:
                        stories[flow_id] = story
                        progress.advance(ending)
                if len(stories) < len(flow_ids):
                    await asyncio.sleep(0.5)
    outcome.stories = [stories[f] for f in flow_ids]
    return outcome


def summary_table(outcome: BulkOutcome) -> Table:
    from rich.table import Table

    waited = outcome.stories is not None
    table = Table("outcome", "flows", title="ended" if waited else "sent")
    statuses = [s.status for s in outcome.stories] if outcome.stories is not None else []
    if not waited:
        statuses = [a.status for a in outcome.answers]
    for status, count in sorted(Counter(statuses).items()):
        table.add_row(styled(status), str(count))
    for kind, count, message in grouped_errors(outcome.errors):
        table.add_row(f"[red]refused, {kind}[/]: {message}", str(count))
    return table


def print_summary(outcome: BulkOutcome) -> None:
    console().print(summary_table(outcome))
    if outcome.stories:
        cost = sum(s.total_cost for s in outcome.stories)
        failovers = sum(1 for s in outcome.stories if len(s.steps) > 1)
        console().print(
            f"total cost {cost:.4f}, {failovers} of {len(outcome.stories)} flows failed over"
        )
