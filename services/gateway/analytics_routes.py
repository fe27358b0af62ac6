"""Outcome analytics: customers rate answers; admins read what the bot resolved, what it
handed over and why, and which questions the help centre could not answer.

Figures are read from per-day counters kept as turns are recorded (shared/stores/analytics.py),
never from a scan of sessions. Days are UTC days.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.auth import Principal
from services.gateway.deps import AdminTenantDep, DraftsDep, GatewayDep, PrincipalDep
from services.gateway.schemas import ERROR_RESPONSES, TURN_ID_PATTERN
from shared.analytics import DEFAULT_DAYS, MAX_RANGE_DAYS, Figures, gap_key
from shared.errors import InvalidInput, NotFound
from shared.observability import FEEDBACK
from shared.stores.analytics import Rating, RedisAnalytics

turns_router = APIRouter(prefix="/api/v1/turns", tags=["analytics"], responses=ERROR_RESPONSES)
router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=ERROR_RESPONSES)
TurnId = Annotated[str, Path(pattern=TURN_ID_PATTERN, description="data.turn_id or X-Turn-Id.")]
Moment = Annotated[
    str | None,
    Query(
        max_length=40,
        description="An ISO 8601 date or time (UTC unless it says otherwise); its UTC day counts.",
    ),
]
NO_SUCH_TURN = "No such turn"


async def get_analytics(gateway: GatewayDep) -> RedisAnalytics:
    """The app's analytics store."""
    return gateway.chat.sessions.analytics


AnalyticsDep = Annotated[RedisAnalytics, Depends(get_analytics)]


class FeedbackIn(BaseModel):
    """A customer's rating of one answer; a later one replaces it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rating": "down", "comment": "Wrong"}]}
    )
    rating: Rating
    comment: str = Field("", max_length=2000)


@turns_router.post("/{turn_id}/feedback", status_code=204, response_class=Response)
async def rate_turn(
    turn_id: TurnId, body: FeedbackIn, principal: PrincipalDep, analytics: AnalyticsDep
) -> Response:
    """Rate an answer up or down. An end user may rate only their own turns."""
    await rate(analytics, principal, turn_id, body.rating, body.comment)
    return Response(status_code=204)


async def rate(
    analytics: RedisAnalytics, principal: Principal, turn_id: str, rating: Rating, comment: str
) -> None:
    """Rate a turn of the caller's tenant (an end user's own); NotFound otherwise."""
    tenant_id = principal.tenant_id
    owner = await analytics.owner(tenant_id, turn_id)
    if owner is None or principal.user_id not in (None, owner):
        raise NotFound(NO_SUCH_TURN)
    replaced = await analytics.rate(tenant_id, turn_id, rating, comment)
    if replaced is None:  # expired between the two calls
        raise NotFound(NO_SUCH_TURN)
    if replaced != rating:
        FEEDBACK.labels(rating=rating).inc()


def _day(value: str | None, name: str, default: dt.date) -> dt.date:
    if value is None:
        return default
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or time, like 2026-12-01") from None
    try:
        return moment.astimezone(dt.UTC).date() if moment.tzinfo else moment.date()
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the last UTC day
        raise InvalidInput(f"{name} is out of range") from None


def _days(since: str | None, until: str | None) -> tuple[dt.date, dt.date]:
    """The UTC days asked for: by default the last 7, today included."""
    last = _day(until, "until", dt.datetime.now(dt.UTC).date())
    week_before = max(last.toordinal() - (DEFAULT_DAYS - 1), 1)
    first = _day(since, "since", dt.date.fromordinal(week_before))
    if first > last:
        raise InvalidInput("since must not be after until")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"at most {MAX_RANGE_DAYS} days at a time")
    return first, last


@router.get("/summary")
async def summary(
    tenant_id: AdminTenantDep,
    analytics: AnalyticsDep,
    since: Moment = None,
    until: Moment = None,
) -> dict[str, Any]:
    """What the bot resolved and handed over, and why, over the days asked (README: Analytics)."""
    first, last = _days(since, until)
    days = await analytics.days(tenant_id, first, last)
    total = Figures.total(days.values())
    return {
        "since": first.isoformat(),
        "until": last.isoformat(),
        **total.as_json(),
        "by_day": [{"day": day, **figures.as_json()} for day, figures in days.items()],
    }


@router.get("/knowledge-gaps")
async def knowledge_gaps(
    tenant_id: AdminTenantDep,
    analytics: AnalyticsDep,
    drafts: DraftsDep,
    since: Moment = None,
    until: Moment = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Questions the help centre could not answer, or whose answer was rated down, grouped by
    their text and most asked first: the pages to write next, with the FAQ drafts that
    answer them."""
    first, last = _days(since, until)
    gaps = await analytics.gaps(tenant_id, first, last, limit)
    drafted: dict[str, list[dict[str, str]]] = {}
    for draft in await drafts.all(tenant_id):
        entry = {"draft_id": draft.draft_id, "kb_id": draft.kb_id, "status": draft.status}
        drafted.setdefault(gap_key(draft.question), []).append(entry)
    return {
        "since": first.isoformat(),
        "until": last.isoformat(),
        "gaps": [{**g.__dict__, "drafts": drafted.get(gap_key(g.question), [])} for g in gaps],
    }
