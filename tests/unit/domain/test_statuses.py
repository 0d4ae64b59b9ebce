"""Status vocabulary: parsing any channel's wording, rendering it back, and forward-only moves."""

from __future__ import annotations

import pytest

from failover_otp.domain.statuses import (
    DEFAULT_FAILOVER_ON,
    Channel,
    FlowStatus,
    Outcome,
    StatusCode,
    StepStatus,
    can_move,
    is_final,
    stored_as,
)

S = StepStatus
FAILURES = (S.UNDELIVERED, S.EXPIRED, S.FAILED, S.UNSENT, S.BUSY, S.NO_ANSWER, S.TERMINATED)
SUCCESSES = (S.SENT, S.DELIVERED, S.SEEN, S.COMPLETED)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("QUEUED", S.QUEUED, id="viber-upper"),
        pytest.param("Queued", S.QUEUED, id="sms-title"),
        pytest.param("queued", S.QUEUED, id="lower"),
        pytest.param("qUeUeD", S.QUEUED, id="mixed"),
        pytest.param("  Delivered\n", S.DELIVERED, id="surrounding-whitespace"),
        pytest.param("SEEN", S.SEEN, id="seen"),
        pytest.param("Sent", S.SENT, id="sms-sent"),
        pytest.param("Undelivered", S.UNDELIVERED, id="sms-undelivered"),
        pytest.param("EXPIRED", S.EXPIRED, id="viber-expired"),
        pytest.param("Failed", S.FAILED, id="failed"),
        pytest.param("UNSENT", S.UNSENT, id="unsent"),
        pytest.param("Completed", S.COMPLETED, id="voice-completed"),
        pytest.param("Busy", S.BUSY, id="voice-busy"),
        pytest.param("NoAnswer", S.NO_ANSWER, id="voice-noanswer"),
        pytest.param("NO_ANSWER", S.NO_ANSWER, id="enum-value"),
        pytest.param("no answer", S.NO_ANSWER, id="spaced"),
        pytest.param("noanswer", S.NO_ANSWER, id="noanswer-lower"),
        pytest.param("Terminated", S.TERMINATED, id="voice-terminated"),
    ],
)
def test_parse_reads_any_casing(text: str, expected: StepStatus) -> None:
    assert StepStatus.parse(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("DELIVRD", id="typo"),
        pytest.param("Read", id="unknown-word"),
        pytest.param("Delivered!", id="punctuation"),
        # The engine's own in-flight state is no word of the documents (issue 16).
        pytest.param("Sending", id="own-sending"),
        pytest.param("SENDING", id="own-sending-upper"),
    ],
)
def test_parse_rejects_unknown_words(text: str) -> None:
    with pytest.raises(ValueError, match="unknown status"):
        StepStatus.parse(text)


@pytest.mark.parametrize(
    ("status", "channel", "expected"),
    [
        pytest.param(S.QUEUED, Channel.VIBER, "QUEUED", id="viber-queued"),
        pytest.param(S.DELIVERED, Channel.VIBER, "DELIVERED", id="viber-delivered"),
        pytest.param(S.EXPIRED, Channel.VIBER, "EXPIRED", id="viber-expired"),
        pytest.param(S.NO_ANSWER, Channel.VIBER, "NO_ANSWER", id="viber-raw-value"),
        pytest.param(S.QUEUED, Channel.SMS, "Queued", id="sms-queued"),
        pytest.param(S.DELIVERED, Channel.SMS, "Delivered", id="sms-delivered"),
        pytest.param(S.UNDELIVERED, Channel.SMS, "Undelivered", id="sms-undelivered"),
        pytest.param(S.SENT, Channel.SMS, "Sent", id="sms-sent"),
        pytest.param(S.COMPLETED, Channel.VOICE, "Completed", id="voice-completed"),
        pytest.param(S.NO_ANSWER, Channel.VOICE, "NoAnswer", id="voice-noanswer"),
        pytest.param(S.BUSY, Channel.VOICE, "Busy", id="voice-busy"),
        # A send in flight reads as queued, in the channel's casing.
        pytest.param(S.SENDING, Channel.VIBER, "QUEUED", id="viber-sending-as-queued"),
        pytest.param(S.SENDING, Channel.SMS, "Queued", id="sms-sending-as-queued"),
    ],
)
def test_render_uses_each_channels_wording(
    status: StepStatus, channel: Channel, expected: str
) -> None:
    assert status.render(channel) == expected


@pytest.mark.parametrize("channel", list(Channel), ids=str)
@pytest.mark.parametrize("status", list(StepStatus), ids=str)
def test_parse_reads_back_every_rendering(status: StepStatus, channel: Channel) -> None:
    assert StepStatus.parse(status.render(channel)) is status.shown


def test_no_rendering_says_sending() -> None:
    rendered = {status.render(channel).lower() for status in StepStatus for channel in Channel}
    assert "sending" not in rendered


def test_a_queued_filter_matches_sends_in_flight() -> None:
    assert stored_as(S.QUEUED) == {S.QUEUED, S.SENDING}
    assert stored_as(S.DELIVERED) == {S.DELIVERED}


@pytest.mark.parametrize(
    ("status", "awaits"),
    [
        *(pytest.param(s, True, id=f"{s}-awaits") for s in (S.SENDING, S.QUEUED, S.SENT)),
        *(pytest.param(s, False, id=f"{s}-final") for s in (S.DELIVERED, *FAILURES)),
    ],
)
def test_awaits_verdict(status: StepStatus, awaits: bool) -> None:
    assert status.awaits_verdict is awaits


@pytest.mark.parametrize(
    ("channel", "type_name"),
    [
        pytest.param(Channel.VIBER, "Viber", id="viber"),
        pytest.param(Channel.SMS, "Sms", id="sms"),
        pytest.param(Channel.VOICE, "Voice", id="voice"),
    ],
)
def test_channel_type_name(channel: Channel, type_name: str) -> None:
    assert channel.type_name == type_name


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        pytest.param((S.SENDING, S.QUEUED), Outcome.PENDING, id="pending"),
        pytest.param(SUCCESSES, Outcome.SUCCESS, id="success"),
        pytest.param(FAILURES, Outcome.FAILURE, id="failure"),
    ],
)
def test_outcomes(statuses: tuple[StepStatus, ...], outcome: Outcome) -> None:
    assert all(status.outcome is outcome for status in statuses)


def test_every_status_has_an_outcome_and_rank() -> None:
    for status in StepStatus:
        assert isinstance(status.outcome, Outcome)
        assert isinstance(status.rank, int)


def test_ranks_order_the_lifecycle() -> None:
    assert S.SENDING.rank < S.QUEUED.rank < S.SENT.rank < S.DELIVERED.rank < S.SEEN.rank
    assert {s.rank for s in (*FAILURES, S.SEEN, S.COMPLETED)} == {S.SEEN.rank}


@pytest.mark.parametrize(
    ("status", "final"),
    [
        *(pytest.param(s, False, id=f"{s}-not-final") for s in (S.SENDING, S.QUEUED, S.SENT)),
        pytest.param(S.DELIVERED, False, id="DELIVERED-may-still-be-seen"),
        *(pytest.param(s, True, id=f"{s}-final") for s in (*FAILURES, S.SEEN, S.COMPLETED)),
    ],
)
def test_is_final(status: StepStatus, final: bool) -> None:
    assert is_final(status) is final


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        pytest.param(S.SENDING, S.QUEUED, True, id="sending-queued"),
        pytest.param(S.SENDING, S.FAILED, True, id="sending-failed"),
        pytest.param(S.QUEUED, S.SENT, True, id="queued-sent"),
        pytest.param(S.QUEUED, S.DELIVERED, True, id="queued-delivered"),
        pytest.param(S.QUEUED, S.SEEN, True, id="queued-seen-skips-delivered"),
        pytest.param(S.QUEUED, S.EXPIRED, True, id="queued-expired"),
        pytest.param(S.QUEUED, S.UNDELIVERED, True, id="queued-undelivered"),
        pytest.param(S.SENT, S.DELIVERED, True, id="sent-delivered"),
        pytest.param(S.SENT, S.UNDELIVERED, True, id="sent-late-undelivered-dlr"),
        pytest.param(S.DELIVERED, S.SEEN, True, id="delivered-seen"),
        pytest.param(S.DELIVERED, S.EXPIRED, False, id="delivered-expired-is-engines-call"),
        pytest.param(S.DELIVERED, S.UNDELIVERED, False, id="delivered-undelivered"),
        pytest.param(S.DELIVERED, S.FAILED, False, id="delivered-failed"),
        pytest.param(S.QUEUED, S.QUEUED, False, id="same-status"),
        pytest.param(S.DELIVERED, S.DELIVERED, False, id="duplicate-delivered"),
        pytest.param(S.QUEUED, S.SENDING, False, id="back-to-sending"),
        pytest.param(S.DELIVERED, S.QUEUED, False, id="delivered-queued"),
        pytest.param(S.DELIVERED, S.SENT, False, id="delivered-sent"),
        pytest.param(S.SEEN, S.DELIVERED, False, id="seen-delivered"),
        pytest.param(S.SEEN, S.EXPIRED, False, id="seen-expired"),
        pytest.param(S.EXPIRED, S.DELIVERED, False, id="expired-delivered"),
        pytest.param(S.UNDELIVERED, S.FAILED, False, id="failure-to-failure"),
        pytest.param(S.FAILED, S.SEEN, False, id="failed-seen"),
        pytest.param(S.COMPLETED, S.NO_ANSWER, False, id="completed-noanswer"),
    ],
)
def test_can_move(current: StepStatus, new: StepStatus, allowed: bool) -> None:
    assert can_move(current, new) is allowed


@pytest.mark.parametrize("current", list(StepStatus), ids=str)
@pytest.mark.parametrize("new", list(StepStatus), ids=str)
def test_can_move_only_goes_up_in_rank(current: StepStatus, new: StepStatus) -> None:
    if can_move(current, new):
        assert new.rank > current.rank
    if is_final(current):
        assert not can_move(current, new)


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        pytest.param(FlowStatus.QUEUED, False, id="queued"),
        pytest.param(FlowStatus.IN_PROGRESS, False, id="in-progress"),
        pytest.param(FlowStatus.SUCCEEDED, True, id="succeeded"),
        pytest.param(FlowStatus.FAILED, True, id="failed"),
    ],
)
def test_flow_status_terminal(status: FlowStatus, terminal: bool) -> None:
    assert status.is_terminal is terminal


def test_flow_status_wording() -> None:
    assert [str(s) for s in FlowStatus] == ["Queued", "InProgress", "Succeeded", "Failed"]


def test_status_codes_match_the_seed() -> None:
    assert {code.name: int(code) for code in StatusCode} == {
        "SERVER_ERROR": 0,
        "INSUFFICIENT_BALANCE": 1,
        "NO_NEXT_STEP": 2,
        "NOT_FAILOVER_TRIGGERED": 3,
    }


@pytest.mark.parametrize(
    ("channel", "statuses"),
    [
        pytest.param(Channel.VIBER, {S.EXPIRED, S.FAILED, S.UNDELIVERED}, id="viber"),
        pytest.param(Channel.SMS, {S.FAILED, S.UNDELIVERED}, id="sms"),
        pytest.param(Channel.VOICE, {S.BUSY, S.NO_ANSWER}, id="voice"),
    ],
)
def test_default_failover_on(channel: Channel, statuses: set[StepStatus]) -> None:
    assert DEFAULT_FAILOVER_ON[channel] == statuses
    assert all(s.outcome is Outcome.FAILURE for s in DEFAULT_FAILOVER_ON[channel])
