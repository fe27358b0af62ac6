"""A tenant's assistant as data: prompt, opener, empty-knowledge reply, prompt variables, LLM
settings and knowledge bases, and how its texts are filled in for one turn."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from shared.errors import InvalidInput
from shared.events.assistant import DEFAULT_KNOWLEDGE_BASES, AssistantSpec, LlmSettings

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TEMPLATED = ("system_prompt", "opener", "empty_response")


class Variable(BaseModel):
    """A prompt variable: a value from the chat request, else its default."""

    name: str
    required: bool = False
    default: str | None = None


class Assistant(BaseModel):
    """A stored assistant; ``is_default`` comes from the tenant's default pointer."""

    id: str
    name: str
    system_prompt: str | None = None
    opener: str | None = None
    empty_response: str | None = None
    variables: list[Variable] = Field(default_factory=list)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    knowledge_bases: list[str] = Field(default_factory=lambda: list(DEFAULT_KNOWLEDGE_BASES))
    is_default: bool = False
    created_at: float
    updated_at: float

    def check(self) -> None:
        """InvalidInput unless every ``{name}`` in the texts is a declared variable, once."""
        names = [v.name for v in self.variables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInput(f"variables declared more than once: {', '.join(repeated)}")
        for field in TEMPLATED:
            undeclared = [n for n in placeholders(getattr(self, field)) if n not in names]
            if undeclared:
                raise InvalidInput(
                    f"{field} uses undeclared variable(s): {', '.join(undeclared)}; "
                    "declare them in variables"
                )

    def spec(self, given: Mapping[str, str]) -> AssistantSpec:
        """The assistant for one turn, its texts filled in; InvalidInput if a required
        variable has no value."""
        values = fill(self.variables, given)
        return AssistantSpec(
            id=self.id,
            system_prompt=render(self.system_prompt, values),
            empty_response=render(self.empty_response, values),
            llm=self.llm,
            knowledge_bases=self.knowledge_bases,
        )

    def stored(self) -> str:
        """The JSON kept in Redis (the default flag lives in its own key)."""
        return self.model_dump_json(exclude={"is_default"})


def placeholders(text: str | None) -> list[str]:
    """Variable names ``text`` refers to as ``{name}``, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def fill(
    variables: Iterable[Variable], given: Mapping[str, str], only: set[str] | None = None
) -> dict[str, str]:
    """Each declared variable's value: given, else its default, else empty. A required one
    (among ``only``, when given) without a non-blank value is InvalidInput."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for variable in variables:
        value = given.get(variable.name, variable.default)
        if not (value or "").strip() and variable.required:
            if only is None or variable.name in only:
                missing.append(variable.name)
        values[variable.name] = value or ""
    if missing:
        raise InvalidInput(f"missing required variable(s): {', '.join(missing)}")
    return values


def render(text: str | None, values: Mapping[str, str]) -> str | None:
    """``text`` with each ``{name}`` replaced, in one pass (values are not re-expanded)."""
    if text is None:
        return None
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
