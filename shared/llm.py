"""The LLM adapter: streams a chat completion from any OpenAI-compatible endpoint.

openai exceptions stop here; callers see only Frontdesk's error tree.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol, TypedDict, cast

import openai
from openai.types.chat import ChatCompletionMessageParam
from opentelemetry.trace import StatusCode

from shared.errors import AppError, DependencyTimeout, DependencyUnavailable, TooManyRequests
from shared.observability import LLM_REQUEST_SECONDS, LLM_TOKENS
from shared.settings import Settings
from shared.tracing import start_span


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


def delta_text(line: str) -> str:
    """The text of one server-sent line of a streamed completion ("" for any other line).

    Raises DependencyUnavailable for an error reported inside the stream, or a line that is
    not JSON.
    """
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return ""
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise DependencyUnavailable("The language model sent a malformed stream") from exc
    if not isinstance(chunk, dict):
        raise DependencyUnavailable("The language model sent a malformed stream")
    if chunk.get("error"):
        raise DependencyUnavailable("The language model failed while streaming")
    choices = chunk.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        return ""
    content = (choices[0].get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


class OpenAIChatModel:
    """Streams completions through the official ``openai`` client.

    The client makes the request (auth, retries, status errors); its raw response is read
    line by line, because building a typed chunk object per token cost about half of the
    stream's CPU (bench/README.md, "Performance history").
    """

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
        model = model or self._model
        span = start_span(f"chat {model}", **{"gen_ai.request.model": model})
        started, deltas, outcome = time.perf_counter(), 0, "stopped"  # closed before the end
        try:
            request = self._client.chat.completions.with_streaming_response.create(
                model=model,
                # ChatMessage is the same shape as openai's message params, with role a str.
                messages=cast("list[ChatCompletionMessageParam]", list(messages)),
                stream=True,
                # Unset options are left out, so the endpoint's own defaults apply.
                temperature=openai.omit if temperature is None else temperature,
                max_tokens=openai.omit if max_tokens is None else max_tokens,
            )
            async with request as response:
                async for line in response.iter_lines():
                    if text := delta_text(line):
                        deltas += 1
                        yield text
            outcome = "ok"
        except openai.APIError as exc:
            outcome = "failed"
            span.set_status(StatusCode.ERROR, type(exc).__name__)
            raise _frontdesk_error(exc) from exc
        finally:
            LLM_REQUEST_SECONDS.labels(outcome=outcome).observe(time.perf_counter() - started)
            LLM_TOKENS.inc(deltas)
            span.set_attribute("frontdesk.llm.deltas", deltas)
            span.end()


def _frontdesk_error(exc: openai.APIError) -> AppError:
    """The Frontdesk error a vendor error stands for."""
    if isinstance(exc, openai.RateLimitError):
        return TooManyRequests("The language model is rate limiting us")
    if isinstance(exc, openai.APITimeoutError):
        return DependencyTimeout("The language model did not answer in time")
    return DependencyUnavailable(f"The language model failed: {type(exc).__name__}")
