"""``serve --demo``'s limits admit every demo the quickstart documents, the longer one too."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from failover_otp.cli.client_commands import _destination
from failover_otp.cli.demo_limits import DEMO_LIMITS, describe_limits, with_demo_limits
from failover_otp.client import viber_sms_payload
from failover_otp.services.abuse import AbuseGuard
from failover_otp.services.clock import SystemClock
from failover_otp.services.otp_requests import otp_plans
from failover_otp.settings import Settings
from failover_otp.store.admission_store import AdmissionStore
from failover_otp.store.counter_store import CounterStore
from failover_otp.store.database import Database
from failover_otp.store.spend_store import SpendStore
from failover_otp.web.otp_requests import otp_ask
from failover_otp.web.otp_schemas import SendFailoverRequest

# The quickstart's sends (docs/quickstart.md), in order: (first number, count, cycle digits).
QUICKSTART = [
    ("+306912345671", 1, False),
    ("+306912345670", 1, False),
    ("+306912345670", 20, True),
    ("+306912345670", 50, True),
]
LONGER_DEMO = [("+306912345670", 5_000, True)]


def _guard(settings: Settings, tmp_path: Path) -> AbuseGuard:
    db = Database(f"sqlite:///{tmp_path}/never-opened.db")  # windows() and costs do no I/O
    return AbuseGuard(
        settings, CounterStore(db), SpendStore(db), SystemClock(), admissions=AdmissionStore(db)
    )


def _fits(settings: Settings, sends: list[tuple[str, int, bool]], tmp_path: Path) -> list[str]:
    """The limits these sends would go over if made within one window: names, with counts."""
    guard = _guard(settings, tmp_path)
    taken: Counter[tuple[str, str]] = Counter()
    limit_of: dict[str, int] = {}
    spend = 0.0
    for phone, count, cycle in sends:
        for index in range(count):
            body = viber_sms_payload(_destination(phone, index, cycle), label="demo")
            plans, meta = otp_plans(otp_ask(SendFailoverRequest.model_validate(body)))
            spend += guard.estimated_cost(plans, meta.request)
            for window in guard.windows("demo-app", plans):
                taken[(window.name, window.key)] += 1
                limit_of[window.name] = window.limit
    over = [
        f"{name}: {n} > {limit_of[name]}" for (name, _), n in taken.items() if n > limit_of[name]
    ]
    if settings.spend_cap_per_day and spend > settings.spend_cap_per_day:
        over.append(f"spend {spend:.2f} > {settings.spend_cap_per_day}")
    return over


def test_the_production_defaults_refuse_the_quickstart(tmp_path: Path) -> None:
    assert _fits(Settings(), QUICKSTART, tmp_path)  # what the issue saw: 429s


def test_demo_limits_admit_the_quickstart_and_the_longer_demo_twice(tmp_path: Path) -> None:
    demo = with_demo_limits(Settings())
    assert _fits(demo, QUICKSTART, tmp_path) == []
    assert _fits(demo, QUICKSTART + LONGER_DEMO + LONGER_DEMO, tmp_path) == []


def test_limits_set_explicitly_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOTP_SPEND_CAP_PER_DAY", "7")
    demo = with_demo_limits(Settings(rate_limit_number_per_10min=3))
    assert demo.spend_cap_per_day == 7
    assert demo.rate_limit_number_per_10min == 3
    assert demo.rate_limit_prefix_per_hour == DEMO_LIMITS["rate_limit_prefix_per_hour"]
    assert "3 sends per number per 10 min" in describe_limits(demo)
    assert "spend cap 7.00 a day" in describe_limits(demo)
