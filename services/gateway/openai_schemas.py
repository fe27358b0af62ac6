"""The OpenAI chat completions wire format: requests, responses, and token estimates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.text import tokenize


class TextPart(BaseModel):
    """A text part of a message's content."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class Message(BaseModel):
    """One message of the conversation, as OpenAI clients send it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text, parts joined by newlines."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content).strip()
        return (self.content or "").strip()


class StreamOptions(BaseModel):
    """Streaming options; only ``include_usage`` has an effect."""

    model_config = ConfigDict(extra="ignore")

    include_usage: bool | None = False


class CompletionRequest(BaseModel):
    """A chat completion request; sampling parameters and other unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": "frontdesk",
                    "messages": [{"role": "user", "content": "How long does shipping take?"}],
                }
            ]
        },
    )

    model: str = Field(
        max_length=200,
        description="Echoed back; the tenant's default bot answers whatever model is named.",
    )
    messages: list[Message] = Field(min_length=1, description="The history; the last is a user's.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, max_length=128, description="Frontdesk's user_id.")


class Usage(BaseModel):
    """Token counts."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    """The reply."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one choice Frontdesk returns."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class FrontdeskInfo(BaseModel):
    """Frontdesk's own details of the turn."""

    session_id: str
    intent: str
    sources: list[str]
    escalate_to_human: bool


class ChatCompletion(BaseModel):
    """A ``chat.completion`` object."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    frontdesk: FrontdeskInfo


class ModelCard(BaseModel):
    """A model as OpenAI lists it."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "frontdesk"


class ModelList(BaseModel):
    """The models: Frontdesk has one."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


def _tokens(text: str) -> int:
    return len(tokenize(text, keep_stopwords=True))


def usage_of(body: CompletionRequest, reply: str) -> Usage:
    """Token counts of a request and its reply."""
    # Estimates from Frontdesk's word tokenizer, not a model's: good enough for budgeting.
    prompt = sum(_tokens(m.text()) for m in body.messages)
    completion = _tokens(reply)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )
