"""Duplicate intervals inside one file, whatever the format."""
from __future__ import annotations

import datetime as dt

from integrations.interval_series import IntervalDeduplicator
from mdm.records import IntervalBlock

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 1, 0, 15, tzinfo=UTC)


def block(first_end_at, values, line, **extra):
    return IntervalBlock(
        meter_serial="M1", unit="kWh", direction="delivered", interval_minutes=15,
        first_end_at=first_end_at, values=values, source_line=line, **extra,
    )


def test_overlap_in_the_middle_keeps_both_ends_and_reports_only_the_changed_value():
    dedup = IntervalDeduplicator()
    dedup.add(block(T0 + dt.timedelta(minutes=30), (3.0, 4.0), 1), raw="a")
    # 00:15..01:30: 00:45 repeats 3.0 (dropped), 01:00 says 9.0 against 4.0 (error)
    kept, errors = dedup.add(
        block(T0, (1.0, 2.0, 3.0, 9.0, 5.0, 6.0), 2, qualities=("", "", "", "", "estimated", "")), raw="b"
    )
    assert [(b.first_end_at, b.values, b.qualities) for b in kept] == [
        (T0, (1.0, 2.0), ()),
        (T0 + dt.timedelta(minutes=60), (5.0, 6.0), ("estimated", "")),
    ]
    assert [(e.line, e.field, e.raw) for e in errors] == [(2, "Value", "b")]
    assert "appears again in this file with value 9.0, earlier 4.0" in errors[0].message


def test_other_direction_or_channel_is_another_series():
    dedup = IntervalDeduplicator()
    dedup.add(block(T0, (1.0,), 1), raw="a")
    kept, errors = dedup.add(block(T0, (2.0,), 2, channel_hint="2"), raw="b")
    assert len(kept) == 1 and errors == []
