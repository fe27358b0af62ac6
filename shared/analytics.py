"""Outcome analytics: what each finished turn adds to its day, and the summary read from days.

Counting happens in Redis, inside the script that records a turn once per turn id
(shared/stores/sessions.py), so a redelivered turn is never counted twice. This module holds
what both sides agree on: the day a moment falls on, time-to-first-token buckets, the text
a knowledge gap is grouped by, and how day counters become the figures a support lead reads.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

# Upper bounds in ms; a turn's first token falls in the first bucket at or above it.
TTFT_BUCKETS_MS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
MAX_RANGE_DAYS = 366
DEFAULT_DAYS = 7
RETENTION_DAYS = 400  # day counters outlive the longest range asked by a month
MAX_GAPS_PER_DAY = 1000  # distinct questions kept a day: an attacker's unique ones stop here
MAX_GAP_EXAMPLES = 3
MAX_GAP_CHARS = 300
_NOT_WORD = re.compile(r"[^\w]+")
K = TypeVar("K")
COUNTERS = (
    "conversations",
    "turns",
    "resolved_by_bot",
    "handed_off",
    "conversations_handed_off",
    "no_answer_turns",
    "reopened",
    "feedback_up",
    "feedback_down",
    "csat_sum",
    "csat_count",
)


def day_of(timestamp: float) -> str:
    """The UTC day a Unix time falls on, as YYYY-MM-DD."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()


def ttft_bucket(milliseconds: float) -> int:
    """The index of the bucket a time to first token falls in."""
    return min(bisect.bisect_left(TTFT_BUCKETS_MS, milliseconds), len(TTFT_BUCKETS_MS) - 1)


def gap_key(question: str) -> str:
    """What similar questions share: case, width, punctuation and spacing do not count."""
    folded = unicodedata.normalize("NFKC", question).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())[:MAX_GAP_CHARS]


def days_between(since: dt.date, until: dt.date) -> list[str]:
    """Every day from ``since`` to ``until``, both included."""
    return [(since + dt.timedelta(days=n)).isoformat() for n in range((until - since).days + 1)]


def _median_ms(buckets: Mapping[int, int]) -> float | None:
    """The median from bucket counts, interpolated inside its bucket; None with no turns."""
    total = sum(buckets.values())
    if not total:
        return None
    middle, seen = total / 2, 0
    for index, upper in enumerate(TTFT_BUCKETS_MS):
        count = buckets.get(index, 0)
        if count and seen + count >= middle:
            lower = TTFT_BUCKETS_MS[index - 1] if index else 0
            return round(lower + (upper - lower) * (middle - seen) / count, 1)
        seen += count
    return float(TTFT_BUCKETS_MS[-1])


def _add(into: dict[K, int], more: Mapping[K, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value


@dataclass
class Figures:
    """The summary's figures over some days."""

    counts: dict[str, int]
    handoff_reasons: dict[str, int]
    ttft: dict[int, int]

    @classmethod
    def of(cls, day: Mapping[str, str]) -> Figures:
        """One day's raw hash (field -> integer text) as figures."""
        figures = cls(dict.fromkeys(COUNTERS, 0), {}, {})
        for field, raw in day.items():
            value = int(raw)
            if field.startswith("handoff:"):
                figures.handoff_reasons[field.removeprefix("handoff:")] = value
            elif field.startswith("ttft:"):
                figures.ttft[int(field.removeprefix("ttft:"))] = value
            elif field in figures.counts:
                figures.counts[field] = value
        return figures

    @classmethod
    def total(cls, days: Iterable[Figures]) -> Figures:
        """Several days' figures added up."""
        total = cls(dict.fromkeys(COUNTERS, 0), {}, {})
        for day in days:
            _add(total.counts, day.counts)
            _add(total.handoff_reasons, day.handoff_reasons)
            _add(total.ttft, day.ttft)
        return total

    def as_json(self) -> dict[str, Any]:
        """The figures as the summary endpoint returns them."""
        c = self.counts
        conversations = c["conversations"]
        contained = max(conversations - c["conversations_handed_off"], 0)
        return {
            "conversations": conversations,
            "turns": c["turns"],
            "resolved_by_bot": max(c["resolved_by_bot"], 0),
            "reopened": c["reopened"],
            "handed_off": c["handed_off"],
            "handoff_reasons": dict(sorted(self.handoff_reasons.items())),
            "no_answer_turns": c["no_answer_turns"],
            "containment_rate": round(contained / conversations, 4) if conversations else None,
            "feedback": {"up": c["feedback_up"], "down": c["feedback_down"]},
            "agent_csat": {
                "mean": round(c["csat_sum"] / c["csat_count"], 2) if c["csat_count"] else None,
                "count": c["csat_count"],
            },
            "median_time_to_first_token_ms": _median_ms(self.ttft),
        }
