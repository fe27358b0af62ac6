"""The opt-in real-model suite (``make test-llm``): SmolLM2-135M in llama.cpp's server, behind
the distributed stack. Skipped unless FRONTDESK_REAL_LLM=1; slow (minutes), so never part of
``make test``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import HEADERS, client_of, start_stack
from tests.support.real_llm import running_real_llm, unavailable
from tests.support.stack import Stack

# Short, repeatable answers: the guard is what is tested, not the small model's prose.
ANSWER_SETTINGS = {"temperature": 0.0, "max_tokens": 160}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the suite unless it was asked for, and say how to get what it needs."""
    here = os.path.dirname(__file__)
    reason = None
    if os.environ.get("FRONTDESK_REAL_LLM") != "1":
        reason = "opt-in: run make test-llm"
    elif why := unavailable():
        reason = why
    if reason:
        for item in items:
            if str(item.fspath).startswith(here):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def real_llm_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the model server writes its log."""
    return tmp_path_factory.mktemp("real-llm")


@pytest.fixture(scope="session")
def real_llm(real_llm_logs: Path) -> Iterator[str]:
    """The model server's base URL (without ``/v1``)."""
    with running_real_llm(real_llm_logs) as url:
        yield url


def _stack(real_llm: str, tmp: pytest.TempPathFactory, guard: str) -> Stack:
    stack = start_stack(
        tmp.mktemp(f"real-llm-{guard}"),
        llm=real_llm,
        GROUNDING_GUARD=guard,
        LLM_MODEL="smollm2",
        LLM_TIMEOUT_SECONDS="120",
        TURN_TIMEOUT_SECONDS="240",
    )
    body = {"name": "Northwind", "llm": ANSWER_SETTINGS, "is_default": True}
    gateway = stack.of("gateway")[0].url
    created = httpx.post(f"{gateway}/api/v1/assistants", json=body, headers=HEADERS, timeout=30)
    assert created.status_code == 201, created.text
    return stack


@pytest.fixture(scope="session")
def strict_stack(real_llm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _stack(real_llm, tmp_path_factory, "strict")
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def flag_stack(real_llm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _stack(real_llm, tmp_path_factory, "flag")
    yield stack
    stack.stop()


def patient_client(stack: Stack) -> httpx.Client:
    """An API client of the stack's gateway, patient enough for a small model on one core."""
    return client_of(stack, timeout=300)


def references(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The chunk ids ``meta`` cited."""
    meta = next(d for name, d in events if name == "meta")
    return [r["chunk_id"] for r in meta["references"]]
