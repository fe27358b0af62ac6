"""HTTP request and response models of the public API (never reused as events)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Channel = Literal["web", "app", "wechat", "dingtalk", "api"]
SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
TURN_ID_PATTERN = r"^turn-[A-Za-z0-9_-]{1,64}$"
ASSISTANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
VARIABLE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
VariableName = Annotated[str, Field(pattern=VARIABLE_NAME_PATTERN)]
VariableValue = Annotated[str, Field(max_length=1000)]

# Control characters and bidirectional overrides would let one name display as another.
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(name: str) -> str:
    if _UNSEEN.search(name):
        raise ValueError("must not contain control or bidirectional-override characters")
    return name


# Names people pick from a list: trimmed, never blank. A dataset's limit is RAGFlow's.
AssistantName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_visible),
]
DatasetName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(_visible),
]


class ChatRequest(BaseModel):
    """A customer's message; the same body for sync and streaming chat."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "message": "How long does standard shipping take?",
                    "channel": "web",
                    "user_id": "u-1001",
                }
            ]
        },
    )

    message: str = Field(min_length=1, description="The customer's message.")
    session_id: str | None = Field(
        default=None,
        pattern=SESSION_ID_PATTERN,
        description="Continue this session; omit to start one.",
    )
    channel: Channel = "api"
    user_id: str = Field(default="anonymous", min_length=1, max_length=128)
    assistant_id: str | None = Field(
        default=None,
        pattern=ASSISTANT_ID_PATTERN,
        description="Answer as this assistant (see /api/v1/assistants); omit, or send "
        "`default`, for the tenant's default assistant.",
    )
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict,
        max_length=32,
        description="Values of the assistant's prompt variables; declared defaults fill the "
        "rest, a required one without a value is a 422, undeclared ones are ignored.",
    )


class SubTaskOut(BaseModel):
    """One part of a compound message."""

    text: str
    intent: str
    outcome: str


class ReferenceOut(BaseModel):
    """A citation: which chunk of which document the answer used."""

    doc_id: str
    doc_name: str
    chunk_id: str
    snippet: str
    score: float


class ChatData(BaseModel):
    """Details of how the turn was handled."""

    # Rate the answer with POST /api/v1/turns/{turn_id}/feedback. Empty only in a replay
    # stored by a gateway older than this field.
    turn_id: str = ""
    intent: str
    sources: list[str]
    escalate_to_human: bool
    escalation_card: dict[str, Any] | None
    turn_count: int
    failed_attempts: int
    emotion_score: float
    sub_tasks: list[SubTaskOut] = []
    references: list[ReferenceOut] = []
    # The grounding guard's verdict on a generated answer; null when nothing was generated.
    grounding: Literal["verified", "regenerated", "flagged", "replaced", "unchecked"] | None = None


class ChatResponse(BaseModel):
    """The sync chat answer."""

    session_id: str
    reply: str
    status: Literal["ok"] = "ok"
    data: ChatData


class ErrorBody(BaseModel):
    """Every error answers with this body."""

    detail: str


class InvalidateResponse(BaseModel):
    """Result of a cache invalidation."""

    status: Literal["ok"] = "ok"
    epoch: int


ERROR_STATUSES = {
    400: "Malformed request body",
    401: "Missing or wrong API key or token",
    403: "The key's role may not do this (client, agent or admin)",
    404: "No such resource for the caller's tenant",
    409: "The resource's state forbids this (e.g. a ticket held by another agent)",
    413: "Request body too large",
    422: "Invalid field value",
    429: "A rate, connection or LLM-concurrency limit was reached; retry after Retry-After",
    503: "A dependency (RabbitMQ, Redis, a worker) is unavailable",
    504: "The assistant did not answer in time",
}


def error_responses(body: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The error statuses an API route may answer, each with ``body``."""
    return {code: {"model": body, "description": text} for code, text in ERROR_STATUSES.items()}


ERROR_RESPONSES = error_responses(ErrorBody)
