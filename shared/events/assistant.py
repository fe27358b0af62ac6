"""The assistant a turn runs as: resolved by the gateway, carried on ChatRequested."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_KNOWLEDGE_BASES = ("default",)


class LlmSettings(BaseModel):
    """Per-assistant overrides of the LLM call; None keeps the deployment's setting."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)

    def options(self) -> dict[str, Any]:
        """The overrides that are set, as keyword arguments of ``ChatModel.stream``."""
        return self.model_dump(exclude_none=True)


class AssistantSpec(BaseModel):
    """An assistant resolved for one turn; its system prompt has the variables filled in."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    # None: the orchestrator's built-in text (the gateway does not hold it).
    system_prompt: str | None = None
    empty_response: str | None = None
    llm: LlmSettings = Field(default_factory=LlmSettings)
    knowledge_bases: list[str] = Field(default_factory=lambda: list(DEFAULT_KNOWLEDGE_BASES))

    @property
    def cache_scope(self) -> str:
        """Hot-cache scope: the id, and a digest of what shapes an answer, so neither another
        assistant nor an earlier version of this one (or other variables) shares its answers."""
        shaping = [self.system_prompt, self.llm.model_dump(), self.knowledge_bases]
        digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()
        return f"{self.id}:{digest[:16]}"
