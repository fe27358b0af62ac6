"""How day counters become the figures a support lead reads."""

from __future__ import annotations

import datetime as dt

from shared.analytics import TTFT_BUCKETS_MS, Figures, day_of, days_between, gap_key, ttft_bucket


def test_similar_questions_share_a_gap() -> None:
    variants = ["Do you ship to Mars?", "do you  ship to MARS", "Do you ship to Mars？！"]
    assert {gap_key(v) for v in variants} == {"do you ship to mars"}
    assert gap_key("退货政策是什么？") == "退货政策是什么"
    assert gap_key("Do you ship to Venus?") != gap_key("Do you ship to Mars?")


def test_days_are_utc_days_both_ends_included() -> None:
    assert day_of(dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC).timestamp()) == "2026-12-01"
    assert days_between(dt.date(2026, 11, 29), dt.date(2026, 12, 1)) == [
        "2026-11-29",
        "2026-11-30",
        "2026-12-01",
    ]


def test_the_median_first_token_is_read_from_its_bucket() -> None:
    assert ttft_bucket(0) == 0 and ttft_bucket(50) == 0 and ttft_bucket(51) == 1
    assert ttft_bucket(10**9) == len(TTFT_BUCKETS_MS) - 1
    # Three turns under 50 ms, one at 150: the median is half way through the first bucket.
    figures = Figures.of({f"ttft:{ttft_bucket(20)}": "3", f"ttft:{ttft_bucket(150)}": "1"})
    assert figures.as_json()["median_time_to_first_token_ms"] == 33.3
    assert Figures.of({}).as_json()["median_time_to_first_token_ms"] is None


def test_days_add_up_and_rates_are_of_conversations() -> None:
    monday = Figures.of(
        {"conversations": "3", "conversations_handed_off": "1", "handoff:ticket": "1"}
    )
    tuesday = Figures.of(
        {"conversations": "1", "handoff:ticket": "2", "handoff:explicit_request": "1"}
    )
    total = Figures.total([monday, tuesday]).as_json()
    assert total["conversations"] == 4 and total["containment_rate"] == 0.75
    assert total["handoff_reasons"] == {"explicit_request": 1, "ticket": 3}
    assert Figures.of({}).as_json()["containment_rate"] is None  # no conversations, no rate
