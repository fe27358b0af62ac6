"""The LLM adapter against a real OpenAI-compatible server (the fake model, its own process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.errors import DependencyUnavailable, TooManyRequests
from shared.llm import ChatMessage, OpenAIChatModel
from shared.settings import Settings
from tests.support.fake_llm import running_fake_llm, set_llm_mode

PROMPT: list[ChatMessage] = [{"role": "user", "content": "How long does shipping take?"}]


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_dir: Path = tmp_path_factory.mktemp("llm")
    with running_fake_llm(log_dir, tokens_per_second=0, tokens=12) as url:
        yield url


def model(url: str) -> OpenAIChatModel:
    return OpenAIChatModel(
        Settings(openai_base_url=f"{url}/v1", openai_api_key="fake", llm_model="fake")
    )


def served_text(url: str) -> str:
    """What the server streams for PROMPT, read by hand from its server-sent lines."""
    body = {"model": "fake", "messages": PROMPT, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        chunks = [
            json.loads(line[5:])
            for line in response.iter_lines()
            if line.startswith("data:") and line[5:].strip() != "[DONE]"
        ]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


async def test_the_reply_arrives_piece_by_piece_and_whole(llm_url: str) -> None:
    pieces = [piece async for piece in model(llm_url).stream(PROMPT)]
    assert len(pieces) == 12
    assert "".join(pieces) == served_text(llm_url)


async def test_a_failing_model_is_a_dependency_error(llm_url: str) -> None:
    set_llm_mode(llm_url, "error", count=2)  # the client retries once
    with pytest.raises(DependencyUnavailable):
        _ = [piece async for piece in model(llm_url).stream(PROMPT)]


async def test_a_rate_limiting_model_says_so(llm_url: str) -> None:
    set_llm_mode(llm_url, "rate_limit", count=2, retry_after=0)
    with pytest.raises(TooManyRequests):
        _ = [piece async for piece in model(llm_url).stream(PROMPT)]
