"""HTTP routes to manage a tenant's assistants (admin keys only; another tenant's is a 404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic.json_schema import SkipJsonSchema

from services.gateway.deps import AdminTenantDep, AssistantsDep
from services.gateway.schemas import (
    ASSISTANT_ID_PATTERN,
    ERROR_RESPONSES,
    AssistantName,
    VariableName,
    VariableValue,
)
from shared.assistant_model import Assistant
from shared.errors import NotFound

KbId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
AssistantId = Annotated[str, Path(pattern=ASSISTANT_ID_PATTERN, description="An assistant's id")]
SystemPrompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8000,
        description="Instructions for the LLM; `{name}` inserts a declared variable. The "
        "retrieved passages are appended. Null: the built-in prompt.",
    ),
]
Opener = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        description="First message shown when a session starts; may use `{name}`.",
    ),
]
EmptyResponse = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        description="The reply when the knowledge bases have nothing relevant; may use "
        "`{name}`. Null: the built-in reply.",
    ),
]
KnowledgeBases = Annotated[
    list[KbId],
    Field(
        min_length=1,
        max_length=10,
        description="Knowledge bases searched for answers; results are merged by score.",
    ),
]
EXAMPLE: dict[str, JsonValue] = {
    "name": "Acme support",
    "system_prompt": "You are the support assistant of {company}. Answer only from the "
    "passages below, in a {tone} tone. If they do not answer the question, say so.",
    "opener": "Hi! I'm the {company} assistant. How can I help?",
    "empty_response": "Sorry, {company} docs have nothing on that.",
    "variables": [
        {"name": "company", "required": True},
        {"name": "tone", "required": False, "default": "friendly"},
    ],
    "llm": {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 400},
    "knowledge_bases": ["default", "acme-products"],
    "is_default": False,
}


router = APIRouter(prefix="/api/v1/assistants", tags=["assistants"], responses=ERROR_RESPONSES)


class VariableIn(BaseModel):
    """A prompt variable; a chat request's value wins over the default."""

    model_config = ConfigDict(extra="forbid")

    name: VariableName
    required: bool = Field(default=False, description="A chat without a value for it is a 422.")
    default: VariableValue | None = None


class LlmIn(BaseModel):
    """Overrides of the deployment's LLM settings; null keeps the deployment's."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, min_length=1, max_length=100)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=100_000)


Variables = Annotated[list[VariableIn], Field(max_length=32)]


class AssistantCreate(BaseModel):
    """A new assistant."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    name: AssistantName
    system_prompt: SystemPrompt | None = None
    opener: Opener | None = None
    empty_response: EmptyResponse | None = None
    variables: Variables = []
    llm: LlmIn = Field(default_factory=LlmIn)
    knowledge_bases: KnowledgeBases = ["default"]
    is_default: bool = Field(default=False, description="Make it the tenant's default assistant.")


class AssistantUpdate(BaseModel):
    """A partial update: only the fields sent change; ``llm`` is merged field by field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"llm": {"temperature": 0.7}, "is_default": True}, {"opener": None}]
        },
    )

    # SkipJsonSchema: these may be omitted but not null (checked below).
    name: AssistantName | SkipJsonSchema[None] = None
    system_prompt: SystemPrompt | None = None
    opener: Opener | None = None
    empty_response: EmptyResponse | None = None
    variables: Variables | SkipJsonSchema[None] = None
    llm: LlmIn | SkipJsonSchema[None] = None
    knowledge_bases: KnowledgeBases | SkipJsonSchema[None] = None
    is_default: bool | SkipJsonSchema[None] = Field(
        default=None,
        description="true makes it the tenant's default; false on the default leaves the "
        "tenant on the built-in assistant.",
    )

    @field_validator("name", "variables", "llm", "knowledge_bases", "is_default")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class VariableOut(BaseModel):
    """A declared prompt variable."""

    name: str
    required: bool
    default: str | None


class LlmOut(BaseModel):
    """LLM overrides; null is the deployment's setting."""

    model: str | None
    temperature: float | None
    max_tokens: int | None


class AssistantOut(BaseModel):
    """A stored assistant."""

    id: str
    name: str
    system_prompt: str | None
    opener: str | None
    empty_response: str | None
    variables: list[VariableOut]
    llm: LlmOut
    knowledge_bases: list[str]
    is_default: bool
    created_at: float
    updated_at: float


class AssistantList(BaseModel):
    """The tenant's assistants, oldest first. None is the default: the built-in one is."""

    assistants: list[AssistantOut]
    total: int


def _out(assistant: Assistant) -> AssistantOut:
    return AssistantOut.model_validate(assistant.model_dump())


@router.post("", response_model=AssistantOut, status_code=201)
async def create_assistant(
    body: AssistantCreate, tenant: AdminTenantDep, assistants: AssistantsDep
) -> AssistantOut:
    """Create an assistant; with ``is_default`` it replaces the tenant's default."""
    return _out(await assistants.create(tenant, body.model_dump()))


@router.get("", response_model=AssistantList)
async def list_assistants(tenant: AdminTenantDep, assistants: AssistantsDep) -> AssistantList:
    """The tenant's assistants; the default one has ``is_default``."""
    found = [_out(a) for a in await assistants.list(tenant)]
    return AssistantList(assistants=found, total=len(found))


@router.get("/default", response_model=AssistantOut)
async def get_default_assistant(tenant: AdminTenantDep, assistants: AssistantsDep) -> AssistantOut:
    """The tenant's default assistant; 404 when none is set (chat uses the built-in one)."""
    assistant = await assistants.default(tenant)
    if assistant is None:
        raise NotFound("No default assistant is set; chat uses the built-in one")
    return _out(assistant)


@router.get("/{assistant_id}", response_model=AssistantOut)
async def get_assistant(
    assistant_id: AssistantId, tenant: AdminTenantDep, assistants: AssistantsDep
) -> AssistantOut:
    """One assistant."""
    assistant = await assistants.get(tenant, assistant_id)
    if assistant is None:
        raise NotFound("No such assistant")
    return _out(assistant)


@router.patch("/{assistant_id}", response_model=AssistantOut)
async def update_assistant(
    assistant_id: AssistantId,
    body: AssistantUpdate,
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
) -> AssistantOut:
    """Change some fields; null clears an optional text (the built-in one applies again)."""
    changes = body.model_dump(exclude_unset=True)  # nested too: llm keeps only what was sent
    return _out(await assistants.update(tenant, assistant_id, changes))


@router.delete("/{assistant_id}", status_code=204)
async def delete_assistant(
    assistant_id: AssistantId, tenant: AdminTenantDep, assistants: AssistantsDep
) -> Response:
    """Delete an assistant; if it was the default, chat falls back to the built-in one."""
    await assistants.delete(tenant, assistant_id)
    return Response(status_code=204)
