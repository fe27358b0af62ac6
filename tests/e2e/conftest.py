"""The distributed stack as separate OS processes against the machine's RabbitMQ and Redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import RABBITMQ_URL, REDIS_URL, require, unique_prefix
from tests.support.stack import REPO, Stack, stack_env

API_KEY = "e2e-key-0123456789abcdef"
ALICE_KEY = "alice-key-0123456789abcdef"
BOB_KEY = "bob-key-0123456789abcdef"
AGENT_KEYS = f"alice:{ALICE_KEY},bob:{BOB_KEY}"
HEADERS = {"X-API-Key": API_KEY}


def start_stack(
    log_dir: Path, orchestrators: int = 1, gateways: int = 1, llm: str = "", **env: str
) -> Stack:
    """Start gateway(s), orchestrator(s), retriever and escalation; wait until all are ready.

    ``llm``: the base URL of a fake OpenAI-compatible model (see tests/support/fake_llm.py).
    """
    if llm:
        env = {
            "OPENAI_BASE_URL": f"{llm}/v1",
            "OPENAI_API_KEY": "fake",
            "LLM_MODEL": "fake-model",
            # The fake model's normal answers are random words, not prose to check; tests of
            # the grounding guard turn it on (test_grounding_guard.py).
            "GROUNDING_GUARD": "off",
        } | env
    require(RABBITMQ_URL, "RabbitMQ")
    require(REDIS_URL, "Redis")
    stack = Stack(
        env=stack_env(
            RABBITMQ_URL=RABBITMQ_URL,
            REDIS_URL=REDIS_URL,
            BROKER_PREFIX=unique_prefix("e2e"),
            REDIS_PREFIX=unique_prefix("e2e"),
            API_KEY=API_KEY,
            AGENT_KEYS=AGENT_KEYS,
            INDEX_DIR=str(log_dir / "index"),
            # Tests share one key across hundreds of requests; limits get their own tests.
            **{
                "TOKEN_FLUSH_MS": "50",
                "RATE_LIMIT_PER_KEY": "0",
                "RATE_LIMIT_PER_TENANT": "0",
                **env,
            },
        ),
        log_dir=log_dir,
    )
    try:
        for _ in range(gateways):
            stack.start("gateway")
        for _ in range(orchestrators):
            stack.start("orchestrator")
        stack.start("retriever")
        stack.start("escalation")
        stack.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two gateways, two orchestrators, a retriever and an escalation worker; no LLM."""
    running = start_stack(tmp_path_factory.mktemp("stack-logs"), orchestrators=2, gateways=2)
    yield running
    running.stop()


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the first gateway, with the API key."""
    with httpx.Client(base_url=stack.of("gateway")[0].url, headers=HEADERS, timeout=30) as http:
        yield http


def frontdesk_cli(stack: Stack, *args: str, key: str = API_KEY) -> subprocess.CompletedProcess[str]:
    """Run ``frontdesk <args>`` against the stack's first gateway, as a user would."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            *args,
            "--url",
            stack.of("gateway")[0].url,
            "--api-key",
            key,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def issue_key(stack: Stack, tenant: str, role: str, name: str = "") -> str:
    """A fresh API key from ``frontdesk keys create``, as an operator would issue it."""
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "keys", "create", "--tenant", tenant, "--role", role]
        + (["--name", name] if name else []),
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
