"""Abuse and cost control in front of every send (both send endpoints).

In order, before anything is stored or sent:

1. number types: premium-rate, shared-cost, toll-free, UAN, pager, personal, voicemail (and VoIP
   unless allowed) numbers are refused (422 ``number_type_not_allowed``); SMS and Viber want a
   mobile, Voice may also call a fixed line;
2. the country allow-list (422 ``country_not_allowed``);
3. the send limits, counted in the database in fixed windows (429 ``rate_limited``): per number,
   per number prefix (the number without its last digits: adjacent-range SMS pumping), per
   application and per country, all of them the application's own;
4. the daily spend cap per application (429 ``spend_cap_reached``): the flow's worst case is
   reserved on the application's day (``store/spend_store.py``) and released when it ends.

3 and 4 are one transaction: a refused send uses up none of the windows and reserves nothing.

``docs/security.md`` lists every default.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import structlog

from failover_otp.domain.code_text import PIN_PLACEHOLDER
from failover_otp.domain.flow import StepPlan
from failover_otp.domain.limits import Exceeded, Window
from failover_otp.domain.spend import MICROS, Reservation, day_of, micros
from failover_otp.domain.statuses import Channel
from failover_otp.phones import describe, is_global_network, number_type
from failover_otp.providers.sms_parts import sms_parts
from failover_otp.security_settings import SecuritySettings
from failover_otp.services.clock import Clock
from failover_otp.services.errors import RateLimited, Refused, ServiceError
from failover_otp.services.ports import (
    Admissions,
    CodeRecords,
    Counters,
    RefusalCounts,
    SpendLedger,
)

log = structlog.get_logger(__name__)

PNT = phonenumbers.PhoneNumberType
_MESSAGING_TYPES = frozenset({PNT.MOBILE, PNT.FIXED_LINE_OR_MOBILE})
_VOICE_TYPES = _MESSAGING_TYPES | {PNT.FIXED_LINE}
TYPE_NAMES = {
    PNT.FIXED_LINE: "fixed-line",
    PNT.MOBILE: "mobile",
    PNT.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
    PNT.TOLL_FREE: "toll-free",
    PNT.PREMIUM_RATE: "premium-rate",
    PNT.SHARED_COST: "shared-cost",
    PNT.VOIP: "VoIP",
    PNT.PERSONAL_NUMBER: "personal",
    PNT.PAGER: "pager",
    PNT.UAN: "UAN",
    PNT.VOICEMAIL: "voicemail",
    PNT.UNKNOWN: "unknown-type",
}
SATELLITE = "satellite"
# A code is at most 10 characters (FOTP_CODE_LENGTH, a caller's pin): an SMS is priced with it.
_LONGEST_CODE = "0" * 10
_PURGE_CHANCE = 0.002
_SPEND_WARNING = 0.8


class NumberTypeNotAllowed(Refused):
    code = "number_type_not_allowed"


class CountryNotAllowed(Refused):
    code = "country_not_allowed"


def allowed_types(channel: Channel, *, allow_voip: bool) -> frozenset[int]:
    base = _VOICE_TYPES if channel is Channel.VOICE else _MESSAGING_TYPES
    return base | {PNT.VOIP} if allow_voip else base


def prefix_of(number: str, drop_digits: int) -> str:
    return number[: max(1, len(number) - drop_digits)]


def _next_utc_midnight(now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


class AbuseGuard:
    def __init__(
        self,
        settings: SecuritySettings,
        counters: Counters,
        spend: SpendLedger,
        clock: Clock,
        *,
        admissions: Admissions,
        codes: CodeRecords | None = None,
        refusals: RefusalCounts | None = None,
    ) -> None:
        self.settings = settings
        self.admissions = admissions
        self.counters = counters
        self.spend = spend
        self.clock = clock
        self.codes = codes
        self.refusals = refusals
        self.countries = frozenset(
            c.strip().upper() for c in settings.allowed_countries.split(",") if c.strip()
        )

    async def admit(
        self,
        application_id: str,
        plans: Sequence[StepPlan],
        contents: Sequence[dict[str, Any]] = (),
        *,
        flow_id: str,
    ) -> None:
        """Let the flow ``flow_id`` through, or raise the error that says why not (nothing
        counted then but the refusal itself, for the dashboard).

        Its send-limit windows and its spend reservation (its worst case) are taken in one
        transaction: all of them, or, refused, none.
        """
        try:
            await self._admit(application_id, plans, contents, flow_id)
        except ServiceError as refusal:
            await self._record_refusal(application_id, refusal)
            raise

    async def _admit(
        self,
        application_id: str,
        plans: Sequence[StepPlan],
        contents: Sequence[dict[str, Any]],
        flow_id: str,
    ) -> None:
        self.check_destinations(plans)
        now = self.clock.now()
        windows = self.windows(application_id, plans) if self.settings.rate_limit_enabled else []
        cap = micros(self.settings.spend_cap_per_day)
        reservation = None
        if cap:
            cost = micros(self.estimated_cost(plans, contents))
            reservation = Reservation(flow_id, application_id, day_of(now), cost)
        exceeded, day = await self.admissions.take(windows, reservation, cap, now)
        if exceeded is not None:
            raise self._rate_limited(exceeded, application_id)
        if reservation is not None:
            if day is None:
                raise await self._spend_refused(reservation, now)
            if day.committed > _SPEND_WARNING * cap:
                # The alert before the cap: operators watch for this line (or the 429s after it).
                log.warning(
                    "daily spend above 80% of the cap",
                    application=application_id,
                    committed=day.committed / MICROS,
                    cap=cap / MICROS,
                )
        if random.random() < _PURGE_CHANCE:
            await self.purge(now)

    def _rate_limited(self, exceeded: Exceeded, application_id: str) -> RateLimited:
        window = exceeded.window
        log.warning("send limit reached", limit=window.name, application=application_id)
        return RateLimited(
            f"too many sends ({window.name}): at most {window.limit} per "
            f"{window.seconds} s; retry in {exceeded.retry_after} s",
            retry_after=exceeded.retry_after,
            details=[
                {
                    "limit": window.name,
                    "max": window.limit,
                    "windowSeconds": window.seconds,
                    "retryAfterSeconds": exceeded.retry_after,
                }
            ],
        )

    async def _spend_refused(self, reservation: Reservation, now: datetime) -> RateLimited:
        cap = self.settings.spend_cap_per_day
        day = await self.spend.today(reservation.application_id, now)
        spent, reserved = day.spent / MICROS, day.reserved / MICROS
        cost = reservation.amount / MICROS
        retry = max(1, math.ceil((_next_utc_midnight(now) - now).total_seconds()))
        log.warning("daily spend cap reached", application=reservation.application_id, cap=cap)
        return RateLimited(
            f"daily spend cap reached: {spent:.4f} spent today and {reserved:.4f} held by "
            f"flows still running; this flow may cost {cost:.4f}; the cap is {cap:.4f}",
            retry_after=retry,
            code="spend_cap_reached",
            details=[
                {
                    "spent": round(spent, 6),
                    "reserved": round(reserved, 6),
                    "estimate": round(cost, 6),
                    "cap": cap,
                }
            ],
        )

    def check_destinations(self, plans: Sequence[StepPlan]) -> None:
        for index, plan in enumerate(plans):
            kind = number_type(plan.to)
            allowed = allowed_types(plan.channel, allow_voip=self.settings.allow_voip_numbers)
            name = None
            if kind not in allowed:
                name = TYPE_NAMES.get(kind, "unknown-type")
            elif is_global_network(plan.to) and not self.settings.allow_satellite_numbers:
                # phonenumbers calls +8816... "mobile": the calling code says what it costs.
                name = SATELLITE
            if name is not None:
                raise NumberTypeNotAllowed(
                    f"step {index + 1}: {name} numbers are not accepted for "
                    f"{plan.channel.type_name}",
                    details=[{"step": index + 1, "numberType": name}],
                )
            if self.countries:
                country = describe(plan.to)[0]
                if country not in self.countries:
                    raise CountryNotAllowed(
                        f"step {index + 1}: numbers of {country or 'this region'} are not "
                        "accepted by this deployment",
                        details=[{"step": index + 1, "country": country}],
                    )

    def estimated_cost(
        self, plans: Sequence[StepPlan], contents: Sequence[dict[str, Any]] = ()
    ) -> float:
        """The most the flow can cost: every step sent, SMS priced per part (what the spend cap
        reserves; it holds as long as the configured prices are at least the provider's)."""
        s = self.settings
        total = 0.0
        for index, plan in enumerate(plans):
            if plan.channel is Channel.SMS:
                content = contents[index] if index < len(contents) else {}
                message = content.get("message")
                body = message.get("body") if isinstance(message, dict) else None
                if isinstance(body, str):
                    # Priced as sent: with the longest code in place of its placeholder.
                    body = body.replace(PIN_PLACEHOLDER, _LONGEST_CODE)
                total += s.price_sms * (sms_parts(body) if isinstance(body, str) else 1)
            elif plan.channel is Channel.VIBER:
                total += s.price_viber
            else:
                total += s.price_voice
        return total

    def windows(self, application_id: str, plans: Sequence[StepPlan]) -> list[Window]:
        s = self.settings
        numbers = sorted({p.to for p in plans})
        wanted: list[tuple[str, str, int, int]] = []
        # Every window is the application's own: a limit shared between applications would let
        # one tenant use it up against another's users (docs/security.md, tenant isolation).
        for number in numbers:
            key = f"n:{application_id}:{number}"
            wanted.append(("number_per_10min", key, 600, s.rate_limit_number_per_10min))
            wanted.append(("number_per_day", key, 86_400, s.rate_limit_number_per_day))
        prefixes = sorted({prefix_of(n, s.rate_limit_prefix_drop_digits) for n in numbers})
        for prefix in prefixes:
            key = f"p:{application_id}:{prefix}"
            wanted.append(("prefix_per_hour", key, 3_600, s.rate_limit_prefix_per_hour))
        countries = sorted({describe(n)[0] or "ZZ" for n in numbers})
        for country in countries:
            wanted.append(
                (
                    "country_per_hour",
                    f"c:{application_id}:{country}",
                    3_600,
                    s.rate_limit_country_per_hour,
                )
            )
        wanted.append(
            (
                "application_per_minute",
                f"a:{application_id}",
                60,
                s.rate_limit_application_per_minute,
            )
        )
        wanted.append(
            ("application_per_day", f"a:{application_id}", 86_400, s.rate_limit_application_per_day)
        )
        return [Window(name, key, seconds, limit) for name, key, seconds, limit in wanted if limit]

    async def _record_refusal(self, application_id: str, refusal: ServiceError) -> None:
        if self.refusals is None:
            return
        reason = refusal.code
        limit = refusal.details[0].get("limit") if refusal.details else None
        if isinstance(limit, str):
            reason = f"{reason}:{limit}"  # which window: number, prefix, country, application
        try:
            await self.refusals.record(application_id, reason, self.clock.now())
        except Exception as exc:  # the refusal stands even if it cannot be counted
            log.warning("refusal not counted", reason=reason, error=str(exc))

    async def purge(self, now: datetime) -> None:
        """Old counter windows, long-expired codes and spend rows go, and reservations of flows
        never created are released (now and then, from any process)."""
        try:
            await self.counters.purge(now)
            await self.spend.purge(now)
            if self.codes is not None:
                await self.codes.purge(now)
        except Exception as exc:  # housekeeping must never fail a send
            log.warning("purge failed", error=str(exc))
