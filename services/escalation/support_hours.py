"""When human agents are on duty: opening hours in a time zone, on some days of the week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SupportHours:
    """Daily opening hours (``opens`` < ``closes``) in ``zone`` on ``days``; empty = always."""

    opens: time | None = None
    closes: time | None = None
    zone: ZoneInfo = ZoneInfo("UTC")
    days: frozenset[int] = frozenset(range(7))

    @classmethod
    def parse(cls, hours: str, zone: str, days: str) -> SupportHours:
        """From settings like ``"09:00-21:00"``, ``"Asia/Shanghai"``, ``"mon,tue,wed"``."""
        if not hours.strip():
            return cls()
        start, _, end = hours.partition("-")
        closes = (
            time(23, 59, 59, 999999) if end.strip() == "24:00" else time.fromisoformat(end.strip())
        )
        chosen = frozenset(DAYS.index(d.strip().lower()[:3]) for d in days.split(",") if d.strip())
        return cls(
            time.fromisoformat(start.strip()), closes, ZoneInfo(zone), chosen or frozenset(range(7))
        )

    def is_open(self, now: datetime) -> bool:
        """True when an agent can be expected to pick the conversation up."""
        if self.opens is None or self.closes is None:
            return True
        local = now.astimezone(self.zone)
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, now: datetime) -> datetime:
        """The next moment agents are on duty (``now`` if they are)."""
        if self.is_open(now) or self.opens is None:
            return now
        local = now.astimezone(self.zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            candidate = datetime.combine(day, self.opens, self.zone)
            if candidate > local and candidate.weekday() in self.days:
                return candidate
        return now
