"""UUID version 7 (RFC 9562 section 5.7): layout, ordering, uniqueness."""

from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.ids import uuid7, uuid7_millis


def test_version_variant_and_timestamp():
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= uuid7_millis(value) <= after
    assert str(value)[14] == "7"  # the version nibble where every UUID parser looks for it


def test_rfc9562_test_vector_layout():
    # RFC 9562 appendix A.6: 2022-02-22 14:22:22 UTC = 0x017F22E279B0 ms.
    value = uuid7(now_ms=0x017F22E279B0)
    assert str(value).startswith("017f22e2-79b0-7")
    assert str(value)[19] in "89ab"


@given(st.integers(min_value=0, max_value=(1 << 48) - 2))
def test_later_milliseconds_sort_later(millis):
    assert uuid7(now_ms=millis) < uuid7(now_ms=millis + 1)
    assert uuid7(now_ms=millis).bytes < uuid7(now_ms=millis + 1).bytes


def test_unique_within_one_millisecond():
    values = {uuid7(now_ms=1_700_000_000_000) for _ in range(50_000)}
    assert len(values) == 50_000


@pytest.mark.parametrize("millis", [-1, 1 << 48])
def test_out_of_range_timestamps_are_refused(millis):
    with pytest.raises(ValueError, match="48 bits"):
        uuid7(now_ms=millis)
