"""Reading tracking-search requests: filters, operators, dates, the page object."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from failover_otp.domain.listing import SearchField, SearchOperator, TrackingFilter
from failover_otp.services.errors import Invalid
from failover_otp.services.flow_reads import page_object
from failover_otp.web.error_handlers import http_status
from failover_otp.web.failover_schemas import SearchFilter
from failover_otp.web.failover_search import (
    page_size,
    parse_filters,
    parse_instant,
    parse_range,
)


def parse(field: str, term: str, operator: str | None = None) -> TrackingFilter:
    (parsed,) = parse_filters(
        [SearchFilter(fieldName=field, searchOperator=operator, searchTerm=term)]
    )
    return parsed


@pytest.mark.parametrize(
    ("field", "operator", "term", "expected"),
    [
        ("type", None, "Viber", ("type", "is", "viber")),
        ("TYPE", "IS_NOT", "voice", ("type", "is_not", "voice")),
        ("to", "is", "+30 691-234-5671", ("to", "is", "306912345671")),
        ("To", "Contains", "912", ("to", "contains", "912")),
        ("to", "starts_with", "+44", ("to", "starts_with", "44")),
        ("to", "ends_with", "71", ("to", "ends_with", "71")),
        ("status", "", "inprogress", ("status", "is", "InProgress")),
        ("status", "is", "in_progress", ("status", "is", "InProgress")),
        ("status", "is_not", "QUEUED", ("status", "is_not", "Queued")),
        ("terminationchannel", "is", "sms", ("terminationChannel", "is", "Sms")),
    ],
)
def test_filters_are_read_in_any_casing(
    field: str, operator: str | None, term: str, expected: tuple[str, str, str]
) -> None:
    name, op, value = expected
    assert parse(field, term, operator) == TrackingFilter(
        SearchField(name), SearchOperator(op), value
    )


@pytest.mark.parametrize(
    ("field", "operator", "term", "where"),
    [
        ("phone", "is", "1", "fieldName"),
        ("type", "like", "Sms", "searchOperator"),
        ("type", "contains", "Sms", "searchOperator"),
        ("status", "starts_with", "Succ", "searchOperator"),
        ("terminationChannel", "ends_with", "s", "searchOperator"),
        ("type", "is", "Email", "searchTerm"),
        ("status", "is", "Delivered", "searchTerm"),
        ("terminationChannel", "is", "ViberOtp", "searchTerm"),
        ("to", "contains", " + ", "searchTerm"),
    ],
)
def test_bad_filters_are_422_naming_the_item(
    field: str, operator: str, term: str, where: str
) -> None:
    with pytest.raises(Invalid) as caught:
        parse(field, term, operator)
    assert http_status(caught.value) == 422
    assert caught.value.details[0]["loc"] == ["body", 0, where]


def test_numeric_terms_are_read_as_digits() -> None:
    (parsed,) = parse_filters(
        [SearchFilter.model_validate({"fieldName": "to", "searchTerm": 306912345671})]
    )
    assert parsed.term == "306912345671"


def test_too_many_filters() -> None:
    with pytest.raises(Invalid):
        parse_filters([SearchFilter(fieldName="type", searchTerm="Sms")] * 21)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-05T15:00Z", datetime(2025, 5, 5, 15, 0, tzinfo=UTC)),
        ("2025-05-05T15:00:30.250z", datetime(2025, 5, 5, 15, 0, 30, 250000, tzinfo=UTC)),
        ("2025-05-05T17:00+02:00", datetime(2025, 5, 5, 15, 0, tzinfo=UTC)),
        ("2025-05-05T17:00 02:00", datetime(2025, 5, 5, 15, 0, tzinfo=UTC)),  # "+" unencoded
        ("2025-05-05T15:00", datetime(2025, 5, 5, 15, 0, tzinfo=UTC)),
        ("2025-05-05", datetime(2025, 5, 5, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_instants(text: str | None, expected: datetime | None) -> None:
    assert parse_instant(text, "dateStart") == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00Z", "2025-05-05T25:00Z", "1"])
def test_bad_instants(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_instant(text, "dateEnd")
    assert caught.value.details[0]["loc"] == ["query", "dateEnd"]


def test_range_must_not_be_reversed() -> None:
    with pytest.raises(Invalid):
        parse_range("2025-05-06T00:00Z", "2025-05-05T00:00Z")
    assert parse_range("2025-05-05T00:00Z", "2025-05-05T00:00Z")[0] is not None


@pytest.mark.parametrize(
    ("total", "page", "size", "pages", "count", "first", "last"),
    [
        (0, 0, 10, 0, 0, True, True),
        (5, 0, 10, 1, 5, True, True),
        (5, 0, 2, 3, 2, True, False),
        (5, 1, 2, 3, 2, False, False),
        (5, 2, 2, 3, 1, False, True),
        (5, 7, 2, 3, 0, False, True),
        (3, 2, 1, 3, 1, False, True),
    ],
)
def test_page_object(
    total: int, page: int, size: int, pages: int, count: int, first: bool, last: bool
) -> None:
    content = [{"i": i} for i in range(count)]
    assert page_object(content, total, page, size) == {
        "content": content,
        "totalPages": pages,
        "totalElements": total,
        "totalElementsExact": True,
        "number": page,
        "size": size,
        "numberOfElements": count,
        "first": first,
        "last": last,
    }


def test_a_page_past_the_count_limit_covers_the_reachable_matches() -> None:
    # The store counted "more than 4" (5): four matches can be paged through, two pages of 2.
    body = page_object([{"i": 0}, {"i": 1}], 5, 1, 2, count_limit=4)
    assert body["totalElements"] == 4
    assert body["totalElementsExact"] is False
    assert (body["totalPages"], body["last"]) == (2, True)
    exact = page_object([{"i": 0}], 4, 1, 3, count_limit=4)
    assert (exact["totalElements"], exact["totalElementsExact"], exact["totalPages"]) == (
        4,
        True,
        2,
    )


@pytest.mark.parametrize(("requested", "served"), [(1, 1), (200, 200), (201, 200), (10**6, 200)])
def test_page_size_is_capped_at_200(requested: int, served: int) -> None:
    assert page_size(requested) == served
