"""The LLM adapter: streams a chat completion from any OpenAI-compatible endpoint.

openai exceptions stop here; callers see only Frontdesk's error tree.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol, TypedDict, cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from shared.errors import DependencyTimeout, DependencyUnavailable, TooManyRequests
from shared.settings import Settings


class ChatMessage(TypedDict):
    """One message of a prompt, in the OpenAI chat format."""

    role: str
    content: str


class ChatModel(Protocol):
    """Something that streams a reply to a prompt."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        """Yield the reply's text pieces as they arrive; None keeps the configured setting."""
        ...


class CircuitOpen(DependencyUnavailable):
    """The breaker is open: the LLM failed repeatedly and is being left alone for a while."""


class CircuitBreaker:
    """Opens after ``threshold`` failures in a row; after ``cooldown`` lets one trial through."""

    def __init__(
        self,
        threshold: int = 5,
        cooldown_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        """closed, open or half_open."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def check(self) -> None:
        """Raise CircuitOpen unless a call may go through now."""
        if self.state == "open":
            raise CircuitOpen("The language model is unavailable; using fallback answers")
        if self.state == "half_open":
            # Re-arm the cooldown so only one trial call goes through at a time.
            self._opened_at = self._clock()

    def record_success(self) -> None:
        """A call worked: close the breaker."""
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        """A call failed: count it, and open the breaker at the threshold."""
        self._failures += 1
        if self._failures >= self.threshold:
            self._opened_at = self._clock()


class OpenAIChatModel:
    """Streams completions through the official ``openai`` client."""

    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None) -> None:
        self._model = settings.llm_model
        self._client = client or openai.AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value() or "not-needed",
            base_url=settings.openai_base_url or None,
            timeout=settings.llm_timeout_seconds,
            max_retries=1,
        )

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        """Yield content deltas; vendor errors become Frontdesk errors."""
        try:
            response = await self._client.chat.completions.create(
                model=model or self._model,
                # ChatMessage is the same shape as openai's message params, with role a str.
                messages=cast("list[ChatCompletionMessageParam]", list(messages)),
                stream=True,
                # Unset options are left out, so the endpoint's own defaults apply.
                temperature=openai.omit if temperature is None else temperature,
                max_tokens=openai.omit if max_tokens is None else max_tokens,
            )
            async with response:
                async for chunk in response:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        except openai.RateLimitError as exc:
            raise TooManyRequests("The language model is rate limiting us") from exc
        except openai.APITimeoutError as exc:
            raise DependencyTimeout("The language model did not answer in time") from exc
        except openai.APIError as exc:
            raise DependencyUnavailable(f"The language model failed: {type(exc).__name__}") from exc
