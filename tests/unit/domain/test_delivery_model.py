"""The delivery model (histograms, Kaplan-Meier curve, fallback) and the auto ttl rule."""

from __future__ import annotations

import pytest

from failover_otp.domain.adaptive_ttl import MARGIN_SECONDS, AutoTtl, choose_ttl
from failover_otp.domain.delivery_model import (
    BIN_EDGES,
    MIN_SAMPLES,
    NEVER_BIN,
    DeliveryModel,
    ModelKey,
    bin_of,
)
from failover_otp.domain.statuses import Channel

VIBER_GR = ModelKey(Channel.VIBER, "GR", "Cosmote")
POLICY = AutoTtl(min_seconds=5, max_seconds=120, threshold=0.95)


def rows(
    key: ModelKey, delivered: dict[float, int], censored: dict[float, int] | None = None
) -> list[tuple[ModelKey, int, int, int]]:
    """Counts for ``key``: ``{seconds: how many}`` delivered / censored at those times."""
    found = [(key, bin_of(s), n, 0) for s, n in delivered.items()]
    found += [(key, bin_of(s), 0, n) for s, n in (censored or {}).items()]
    return found


def test_bins_are_upper_edges_and_the_last_takes_everything_later() -> None:
    assert bin_of(0) == 0
    assert bin_of(1) == 0
    assert bin_of(1.01) == 1
    assert bin_of(BIN_EDGES[-1]) == NEVER_BIN - 1
    assert bin_of(10 * BIN_EDGES[-1]) == NEVER_BIN


def test_without_censoring_the_curve_is_the_plain_share_delivered() -> None:
    model = DeliveryModel.from_counts(rows(VIBER_GR, {3: 60, 10: 20}, {float("inf"): 20}))
    curve = model.histograms[VIBER_GR].curve()
    assert curve.samples == 100
    assert curve.share_by(3) == pytest.approx(0.6)
    assert curve.share_by(10) == pytest.approx(0.8)
    assert curve.share_by(3600) == pytest.approx(0.8)  # 20 never delivered


def test_a_step_given_up_early_says_nothing_about_later_times() -> None:
    # 100 waited 120 s: 50 delivered by 3 s, 10 more by 60 s. 100 more gave up after 10 s, 50
    # of them having been delivered by 3 s. Counting those 50 give-ups as "never" would put the
    # share at 60 s at 110/200; Kaplan-Meier keeps the long waiters' 60 %.
    counts = rows(VIBER_GR, {3: 100, 60: 10}, {10: 50, 120: 40})
    curve = DeliveryModel.from_counts(counts).histograms[VIBER_GR].curve()
    assert curve.share_by(3) == pytest.approx(0.5)
    assert curve.share_by(60) == pytest.approx(0.6)


def test_lookup_falls_back_to_country_then_channel_below_the_minimum() -> None:
    other = ModelKey(Channel.VIBER, "GR", "Vodafone")
    elsewhere = ModelKey(Channel.VIBER, "CY", "Cyta")
    counts = rows(VIBER_GR, {3: MIN_SAMPLES - 1}) + rows(other, {5: 1})
    model = DeliveryModel.from_counts(counts)
    level, histogram = model.lookup(VIBER_GR) or (None, None)
    assert level == ModelKey(Channel.VIBER, "GR")
    assert histogram is not None
    assert histogram.samples == MIN_SAMPLES
    level, _ = model.lookup(elsewhere) or (None, None)
    assert level == ModelKey(Channel.VIBER)
    assert model.lookup(ModelKey(Channel.SMS, "GR")) is None


def test_too_little_history_uses_the_upper_bound() -> None:
    model = DeliveryModel.from_counts(rows(VIBER_GR, {3: MIN_SAMPLES - 1}))
    choice = choose_ttl(model, VIBER_GR, POLICY)
    assert choice.seconds == 120
    assert "too little history" in choice.reason


def test_history_that_never_waited_up_to_the_bound_uses_the_upper_bound() -> None:
    # Every step gave up (or was delivered) within 20 s: nothing says what 20-120 s would bring.
    model = DeliveryModel.from_counts(rows(VIBER_GR, {3: 150}, {20: 100}))
    choice = choose_ttl(model, VIBER_GR, POLICY)
    assert choice.seconds == 120
    assert "does not reach 120 s" in choice.reason


def test_the_ttl_is_the_threshold_of_deliveries_within_the_bound_plus_the_margin() -> None:
    # 70 % delivered by 3 s, 5 % more by 10 s, 25 % waited 120 s in vain (censored at 120).
    model = DeliveryModel.from_counts(rows(VIBER_GR, {3: 700, 10: 50}, {120: 250}))
    choice = choose_ttl(model, VIBER_GR, POLICY)
    # 95 % of the 75 % delivered = 71.25 %: in the 8-10 s bin, linear: 8 + 2 * 1.25 / 5 = 8.5 s.
    assert choice.seconds == 8.5 + MARGIN_SECONDS + 0.5  # rounded up to whole seconds
    assert "Cosmote" in choice.reason
    assert "95%" in choice.reason


def test_a_lower_threshold_fails_over_sooner() -> None:
    model = DeliveryModel.from_counts(rows(VIBER_GR, {3: 700, 10: 50}, {120: 250}))
    strict = choose_ttl(model, VIBER_GR, POLICY)
    loose = choose_ttl(model, VIBER_GR, AutoTtl(1, 120, threshold=0.5))
    assert loose.seconds < strict.seconds


def test_the_choice_is_clamped_to_the_bounds() -> None:
    fast = DeliveryModel.from_counts(rows(VIBER_GR, {1: 900}, {120: 100}))
    assert choose_ttl(fast, VIBER_GR, AutoTtl(30, 120)).seconds == 30
    # Deliveries in the 50-60 s bin: 95 % of them by 59.5 s, + margin > 60 s.
    slow = DeliveryModel.from_counts(rows(VIBER_GR, {60: 900}, {300: 100}))
    assert choose_ttl(slow, VIBER_GR, AutoTtl(5, 60)).seconds == 60


def test_a_channel_that_delivers_nothing_fails_over_at_the_lower_bound() -> None:
    model = DeliveryModel.from_counts(rows(VIBER_GR, {}, {120: 200}))
    choice = choose_ttl(model, VIBER_GR, POLICY)
    assert choice.seconds == 5
    assert "none of 200" in choice.reason


@pytest.mark.parametrize(
    ("low", "high", "threshold"), [(0, 10, 0.9), (20, 10, 0.9), (5, 10, 1.0), (5, 10, 0.0)]
)
def test_bad_bounds_are_refused(low: float, high: float, threshold: float) -> None:
    with pytest.raises(ValueError, match="auto ttl"):
        AutoTtl(low, high, threshold)


def test_an_operator_not_watched_up_to_the_bound_defers_to_its_country() -> None:
    # Cosmote: 100 messages, all delivered or given up within 20 s. The country's other
    # operator waited 120 s for 250: the country's curve reaches the bound and decides.
    other = ModelKey(Channel.VIBER, "GR", "Vodafone")
    counts = rows(VIBER_GR, {3: 80}, {20: 20}) + rows(other, {3: 700, 10: 50}, {120: 250})
    choice = choose_ttl(DeliveryModel.from_counts(counts), VIBER_GR, POLICY)
    assert choice.seconds < 120
    assert choice.reason.startswith("viber GR:")
