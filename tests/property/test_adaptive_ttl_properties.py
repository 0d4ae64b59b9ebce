"""Whatever the history, an auto ttl stays within its bounds and never exceeds what waiting for
the upper bound would give."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from failover_otp.domain.adaptive_ttl import AutoTtl, choose_ttl
from failover_otp.domain.delivery_model import NEVER_BIN, DeliveryModel, ModelKey
from failover_otp.domain.statuses import Channel

KEYS = st.builds(
    ModelKey,
    st.sampled_from(list(Channel)),
    st.sampled_from([None, "GR", "CY"]),
    st.sampled_from([None, "Cosmote", "Cyta"]),
)
COUNTS = st.lists(
    st.tuples(
        KEYS,
        st.integers(0, NEVER_BIN),
        st.integers(0, 500),
        st.integers(0, 500),
    ),
    max_size=60,
)


@st.composite
def policies(draw: st.DrawFn) -> AutoTtl:
    low = draw(st.floats(0.1, 3600, allow_nan=False))
    high = draw(st.floats(low, 86_400, allow_nan=False))
    threshold = draw(st.floats(0.01, 0.99))
    return AutoTtl(low, high, threshold)


@given(counts=COUNTS, key=KEYS, policy=policies())
def test_the_chosen_ttl_is_always_within_its_bounds(
    counts: list[tuple[ModelKey, int, int, int]], key: ModelKey, policy: AutoTtl
) -> None:
    choice = choose_ttl(DeliveryModel.from_counts(counts), key, policy)
    assert policy.min_seconds <= choice.seconds <= policy.max_seconds
    assert choice.reason
