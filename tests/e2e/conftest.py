"""The distributed stack as separate OS processes against the machine's RabbitMQ and Redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.fake_llm import running_fake_llm
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


@dataclass
class StackFactory:
    """Starts fake models and stacks for one test module; everything stops when the module ends."""

    tmp: pytest.TempPathFactory
    exits: ExitStack

    def fake_llm(self, tokens_per_second: float, tokens: int) -> str:
        """A fake OpenAI-compatible model's base URL (see tests/support/fake_llm.py)."""
        log_dir = self.tmp.mktemp("fake-llm")
        return self.exits.enter_context(running_fake_llm(log_dir, tokens_per_second, tokens))

    def __call__(
        self, llm: str = "", orchestrators: int = 1, gateways: int = 1, **env: str
    ) -> Stack:
        """A ready stack with these settings (``llm``: a fake model's URL), stopped after."""
        stack = start_stack(self.tmp.mktemp("stack"), orchestrators, gateways, llm, **env)
        self.exits.callback(stack.stop)
        return stack


@pytest.fixture(scope="module")
def stack_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackFactory]:
    """Stacks of a module's own, for settings the shared ``stack`` does not have."""
    with ExitStack() as exits:
        yield StackFactory(tmp_path_factory, exits)


def client_of(stack: Stack, gateway: int = 0, timeout: float = 30) -> httpx.Client:
    """An HTTP client of one of the stack's gateways, with the API key."""
    url = stack.of("gateway")[gateway].url
    return httpx.Client(base_url=url, headers=HEADERS, timeout=timeout)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two gateways, two orchestrators, a retriever and an escalation worker; no LLM."""
    running = start_stack(tmp_path_factory.mktemp("stack-logs"), orchestrators=2, gateways=2)
    yield running
    running.stop()


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the first gateway, with the API key."""
    with client_of(stack) as http:
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
