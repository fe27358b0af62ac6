"""What RAGFlow's layer shares: its prefix, its ``{"code", "data"}`` envelope, its callers."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.gateway.auth import Principal
from services.gateway.deps import PrincipalDep
from services.gateway.errors import describe_errors
from services.gateway.schemas import error_responses
from shared.errors import Forbidden, InvalidInput, NotFound

PREFIX = "/compat/ragflow/api/v1"
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
MAX_PAGE_SIZE = 100
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
OrderBy = Literal["create_time", "update_time"]


class RagflowError(BaseModel):
    """RAGFlow's error envelope: a business code (never 0) and what went wrong."""

    code: int
    message: str


ERRORS = error_responses(RagflowError)


class Ids(BaseModel):
    """RAGFlow's bulk body: ``null`` means every one, ``[]`` none."""

    model_config = ConfigDict(extra="ignore")
    ids: list[Annotated[str, Field(max_length=128)]] | None = Field(None, max_length=1000)


def ok(data: Any = None) -> dict[str, Any]:
    """RAGFlow's success envelope."""
    return {"code": 0, "data": data} if data is not None else {"code": 0}


def millis(seconds: float) -> int:
    """RAGFlow's timestamps: milliseconds since the epoch."""
    return int(seconds * 1000)


class Listed(Protocol):
    """What RAGFlow lists by id and name, in creation or update order."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def created_at(self) -> float: ...

    @property
    def updated_at(self) -> float: ...


L = TypeVar("L", bound=Listed)


def listing(
    items: list[L],
    id: str | None,
    name: str | None,
    missing: str,
    orderby: OrderBy,
    desc: bool,
    page: int,
    page_size: int,
) -> list[L]:
    """One page of the items with that ``id`` and ``name``; NotFound(``missing``) for none."""
    found = [i for i in items if (id is None or i.id == id) and (name is None or i.name == name)]
    if (id or name) and not found:
        raise NotFound(missing)
    found.sort(
        key=lambda i: i.created_at if orderby == "create_time" else i.updated_at, reverse=desc
    )
    return page_of(found, page, page_size)


def page_of(items: list[T], page: int, page_size: int) -> list[T]:
    """One page of ``items`` (RAGFlow's pages start at 1)."""
    start = (page - 1) * page_size
    return items[start : start + page_size]


def validated(model: type[M], fields: dict[str, Any]) -> M:
    """``fields`` as ``model``, or InvalidInput naming what is wrong (never echoing input)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(describe_errors(exc.errors())) from None


async def tenant_caller(principal: PrincipalDep) -> Principal:
    """A tenant's key: RAGFlow's API has no end users, so end-user tokens are refused."""
    if principal.user_id is not None:
        raise Forbidden("RAGFlow's API takes the tenant's API keys, not end-user tokens")
    return principal


TenantCallerDep = Annotated[Principal, Depends(tenant_caller)]
