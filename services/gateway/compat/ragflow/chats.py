"""RAGFlow's chat assistants over Frontdesk's assistants.

A chat is an assistant (its ``dataset_ids`` are the assistant's knowledge bases; none means
the tenant's ``default``); its prompt, opener, empty response, variables and LLM model,
temperature and max tokens are the assistant's. RAGFlow's retrieval knobs and sampling
penalties do not exist here: only their defaults are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict

from services.gateway.assistant_routes import AssistantCreate, AssistantUpdate
from services.gateway.compat.ragflow.common import (
    ERRORS,
    PREFIX,
    Ids,
    OrderBy,
    Page,
    PageSize,
    listing,
    millis,
    ok,
    validated,
)
from services.gateway.deps import (
    AdminTenantDep,
    AssistantsDep,
    ChatDep,
    ChatSessionsDep,
    DatasetsDep,
)
from services.gateway.schemas import ASSISTANT_ID_PATTERN, AssistantName
from shared.assistant_model import Assistant
from shared.errors import InvalidInput, NotFound
from shared.stores.assistants import RedisAssistantStore

router = APIRouter(prefix=PREFIX, tags=["compat: RAGFlow"], responses=ERRORS)
ChatId = Annotated[str, Path(pattern=ASSISTANT_ID_PATTERN)]

# RAGFlow settings Frontdesk does not have, with the defaults its SDK sends: only these pass.
UNSUPPORTED_LLM: dict[str, Any] = {"top_p": 0.3, "presence_penalty": 0.4, "frequency_penalty": 0.7}
UNSUPPORTED_PROMPT: dict[str, Any] = {
    "similarity_threshold": 0.2,
    "keywords_similarity_weight": 0.7,
    "top_n": 8,
    "top_k": 1024,
    "rerank_model": "",
    "show_quote": True,
}


class LlmIn(BaseModel):
    """RAGFlow's LLM settings."""

    model_config = ConfigDict(extra="allow")
    model_name: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class VariableIn(BaseModel):
    """A RAGFlow prompt variable."""

    model_config = ConfigDict(extra="ignore")
    key: str
    optional: bool = True


class PromptIn(BaseModel):
    """RAGFlow's prompt settings."""

    model_config = ConfigDict(extra="allow")
    prompt: str | None = None
    opener: str | None = None
    empty_response: str | None = None
    variables: list[VariableIn] | None = None


class ChatIn(BaseModel):
    """RAGFlow's chat body (create: name required; update: any subset)."""

    model_config = ConfigDict(extra="ignore")
    name: AssistantName | None = None
    avatar: str | None = None
    dataset_ids: list[str] | None = None
    llm: LlmIn | None = None
    prompt: PromptIn | None = None


def _refuse(given: dict[str, Any], defaults: dict[str, Any]) -> None:
    for name, default in defaults.items():
        if name in given and given[name] not in (default, None):
            raise InvalidInput(
                f"{name} is not supported by Frontdesk's RAGFlow layer; omit it or send {default!r}"
            )


async def _check_datasets(datasets: DatasetsDep, tenant_id: str, ids: list[str]) -> None:
    for dataset_id in ids:
        if dataset_id != "default":
            await datasets.get(tenant_id, dataset_id)


async def _assistant_fields(body: ChatIn, tenant_id: str, datasets: DatasetsDep) -> dict[str, Any]:
    """The Frontdesk assistant fields a RAGFlow chat body sets (only those it sends)."""
    fields: dict[str, Any] = {}
    if body.avatar:
        raise InvalidInput("avatar is not supported by Frontdesk's RAGFlow layer")
    if body.name is not None:
        fields["name"] = body.name
    if body.dataset_ids is not None:
        await _check_datasets(datasets, tenant_id, body.dataset_ids)
        fields["knowledge_bases"] = list(dict.fromkeys(body.dataset_ids)) or ["default"]
    if body.llm is not None:
        _refuse(body.llm.model_extra or {}, UNSUPPORTED_LLM)
        sent = body.llm.model_dump(exclude_unset=True)
        fields["llm"] = {
            new: sent[old]
            for old, new in (
                ("model_name", "model"),
                ("temperature", "temperature"),
                ("max_tokens", "max_tokens"),
            )
            if old in sent
        }
    if body.prompt is not None:
        _refuse(body.prompt.model_extra or {}, UNSUPPORTED_PROMPT)
        sent = body.prompt.model_dump(exclude_unset=True)
        for old, new in (
            ("prompt", "system_prompt"),
            ("opener", "opener"),
            ("empty_response", "empty_response"),
        ):
            if old in sent:
                fields[new] = sent[old] or None  # RAGFlow's "" is Frontdesk's built-in text
        if body.prompt.variables is not None:
            fields["variables"] = [
                {"name": v.key, "required": not v.optional} for v in body.prompt.variables
            ]
    return fields


def _chat_out(assistant: Assistant) -> dict[str, Any]:
    return {
        "id": assistant.id,
        "name": assistant.name,
        "avatar": "",
        "dataset_ids": assistant.knowledge_bases,
        "llm": {
            "model_name": assistant.llm.model,
            "temperature": assistant.llm.temperature,
            "max_tokens": assistant.llm.max_tokens,
            **UNSUPPORTED_LLM,
        },
        "prompt": {
            "prompt": assistant.system_prompt or "",
            "opener": assistant.opener or "",
            "empty_response": assistant.empty_response or "",
            "variables": [{"key": v.name, "optional": not v.required} for v in assistant.variables],
            **UNSUPPORTED_PROMPT,
        },
        "status": "1",
        "create_time": millis(assistant.created_at),
        "update_time": millis(assistant.updated_at),
    }


async def chat_of(assistants: RedisAssistantStore, tenant_id: str, chat_id: str) -> Assistant:
    assistant = await assistants.get(tenant_id, chat_id)
    if assistant is None:
        raise NotFound(f"You don't own the chat {chat_id}")
    return assistant


@router.post("/chats")
async def create_chat(
    body: ChatIn, tenant: AdminTenantDep, assistants: AssistantsDep, datasets: DatasetsDep
) -> dict[str, Any]:
    """A new chat assistant."""
    if body.name is None:
        raise InvalidInput("name: Field required")
    fields = await _assistant_fields(body, tenant, datasets)
    created = validated(AssistantCreate, fields)
    return ok(_chat_out(await assistants.create(tenant, created.model_dump())))


@router.put("/chats/{chat_id}")
async def update_chat(
    chat_id: ChatId,
    body: ChatIn,
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
    datasets: DatasetsDep,
) -> dict[str, Any]:
    """Change some of a chat's settings."""
    await chat_of(assistants, tenant, chat_id)
    changes = validated(AssistantUpdate, await _assistant_fields(body, tenant, datasets))
    await assistants.update(tenant, chat_id, changes.model_dump(exclude_unset=True))
    return ok()


@router.get("/chats")
async def list_chats(
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
    page: Page = 1,
    page_size: PageSize = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """The tenant's chat assistants (every Frontdesk assistant is one)."""
    everyone = await assistants.list(tenant)
    chosen = listing(everyone, id, name, "The chat doesn't exist", orderby, desc, page, page_size)
    return ok([_chat_out(a) for a in chosen])


@router.delete("/chats")
async def delete_chats(
    body: Ids,
    tenant: AdminTenantDep,
    assistants: AssistantsDep,
    chat: ChatDep,
    chat_sessions: ChatSessionsDep,
) -> dict[str, Any]:
    """Delete chat assistants and their sessions (``ids: null``: every assistant)."""
    if body.ids is None:
        doomed = [a.id for a in await assistants.list(tenant)]
    else:
        doomed = [(await chat_of(assistants, tenant, chat_id)).id for chat_id in body.ids]
    for chat_id in doomed:
        await assistants.delete(tenant, chat_id)
        for session_id in await chat_sessions.drop(tenant, chat_id):
            await chat.sessions.delete(tenant, session_id)
    return ok()
