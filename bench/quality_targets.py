"""Where bench/quality.py asks its questions: the embedded app in this process, or the
distributed stack as separate processes on the machine's RabbitMQ and Redis.

Both give every knowledge base its own tenant (an admin key of its own), ingest through the
product's own path and ask through ``POST /api/v1/chat``, one new session per question.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench.public_data import write_pages
from tests.support.services import RABBITMQ_URL, REDIS_URL, unique_prefix
from tests.support.stack import Stack, stack_env

API_KEY = "quality-bench-key-0123456789"
TURN_TIMEOUT_S = 120.0  # a bound far above a normal turn, to catch a stall
KB_ID = "default"  # the knowledge base a tenant's built-in assistant searches
DRAIN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Llm:
    """An OpenAI-compatible model to answer with instead of the extractive answerer."""

    base_url: str
    model: str


class Target(Protocol):
    """Somewhere to ingest knowledge bases and ask questions."""

    async def ingest(self, kb: str, pages: dict[str, str]) -> int: ...

    async def ask(self, kb: str, question: str) -> tuple[int, dict[str, Any]]: ...


def tenant_of(kb: str) -> str:
    return f"quality-{kb}"


class _ChatClient:
    """Asks through the chat API with the key of the knowledge base's tenant."""

    def __init__(self) -> None:
        self.http: httpx.AsyncClient | None = None
        self.keys: dict[str, str] = {}

    async def ask(self, kb: str, question: str) -> tuple[int, dict[str, Any]]:
        assert self.http is not None, "use the target as an async context manager"
        response = await self.http.post(
            "/api/v1/chat",
            json={"message": question, "channel": "api", "user_id": "quality-bench"},
            headers={"X-API-Key": self.keys[kb]},
        )
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:200]}
        return response.status_code, body


def _llm_env(llm: Llm | None) -> dict[str, str]:
    if llm is None:
        return {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": "", "LLM_MODEL": "none"}
    return {
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "quality-bench",
        "LLM_MODEL": llm.model,
        "MAX_CONCURRENT_LLM_CALLS": "1000",
    }


class EmbeddedTarget(_ChatClient):
    """The embedded app (``frontdesk run``) in this process, with an in-memory store."""

    def __init__(self, workdir: Path, llm: Llm | None = None) -> None:
        super().__init__()
        self._workdir = workdir
        self._llm = llm
        self._exit = contextlib.AsyncExitStack()
        self._app: Any = None
        self._idle_tasks = 0

    async def __aenter__(self) -> EmbeddedTarget:
        from services.embedded import create_app
        from shared.settings import Settings

        llm = {k.lower(): v for k, v in _llm_env(self._llm).items()}
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            index_dir=self._workdir / "index",
            knowledge_dir="",
            rabbitmq_url="",
            redis_url="",
            api_key=API_KEY,
            rate_limit_per_key=0,
            rate_limit_per_tenant=0,
            log_level="WARNING",
            **llm,
        )
        self._app = create_app(settings)
        await self._exit.enter_async_context(self._app.router.lifespan_context(self._app))
        transport = httpx.ASGITransport(app=self._app)
        self.http = await self._exit.enter_async_context(
            httpx.AsyncClient(
                transport=transport, base_url="http://embedded", timeout=TURN_TIMEOUT_S
            )
        )
        self._idle_tasks = len(asyncio.all_tasks())
        return self

    async def __aexit__(self, *exc: object) -> None:
        # A turn's last Redis writes may still run after its reply was sent; let them end
        # rather than cancel them at shutdown.
        deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT_S
        while len(asyncio.all_tasks()) > self._idle_tasks:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        await self._exit.aclose()

    async def ingest(self, kb: str, pages: dict[str, str]) -> int:
        """Issue the tenant's admin key (as ``frontdesk keys create`` does) and upload each page
        through the knowledge API, as ``frontdesk ingest`` does."""
        assert self.http is not None
        key, _ = await self._app.gateway.api_keys.create(tenant_of(kb), "admin", "quality-bench")
        self.keys[kb] = key
        for name, text in pages.items():
            response = await self.http.post(
                f"/api/v1/knowledge-bases/{KB_ID}/documents",
                files={"file": (name, text.encode())},
                headers={"X-API-Key": key},
            )
            if response.status_code not in (200, 201):
                raise RuntimeError(
                    f"upload of {name} failed: {response.status_code} {response.text}"
                )
        return len(pages)


class StackTarget(_ChatClient):
    """Gateway, orchestrator(s), retriever and escalation as separate processes."""

    def __init__(self, workdir: Path, llm: Llm | None = None, orchestrators: int = 1) -> None:
        super().__init__()
        self._workdir = workdir
        self._orchestrators = orchestrators
        env = {
            "RABBITMQ_URL": RABBITMQ_URL,
            "REDIS_URL": REDIS_URL,
            "BROKER_PREFIX": unique_prefix("quality"),
            "REDIS_PREFIX": unique_prefix("quality"),
            "API_KEY": API_KEY,
            "INDEX_DIR": str(workdir / "index"),
            "KNOWLEDGE_DIR": "",
            "RATE_LIMIT_PER_KEY": "0",
            "RATE_LIMIT_PER_TENANT": "0",
            "LOG_LEVEL": "WARNING",
            **_llm_env(llm),
        }
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.stack = Stack(env=stack_env(**env), log_dir=workdir / "logs")

    @property
    def url(self) -> str:
        return self.stack.of("gateway")[0].url

    async def __aenter__(self) -> StackTarget:
        try:
            for service in ("gateway", *["orchestrator"] * self._orchestrators):
                self.stack.start(service)
            self.stack.start("retriever")
            self.stack.start("escalation")
            await asyncio.to_thread(self.stack.wait_ready)
        except BaseException:
            await asyncio.to_thread(self.stack.stop)
            raise
        self.http = httpx.AsyncClient(base_url=self.url, timeout=TURN_TIMEOUT_S)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.http is not None:
            await self.http.aclose()
        await asyncio.to_thread(self.stack.stop)

    def _frontdesk(self, *args: str) -> str:
        """Run the ``frontdesk`` command as an operator would; its stdout."""
        command = Path(sys.executable).with_name("frontdesk")
        argv = [str(command)] if command.exists() else [sys.executable, "-m", "services.cli"]
        result = subprocess.run(
            [*argv, *args], env=self.stack.env, capture_output=True, text=True, timeout=1800
        )
        if result.returncode != 0:
            raise RuntimeError(f"frontdesk {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    async def ingest(self, kb: str, pages: dict[str, str]) -> int:
        """``frontdesk keys create`` for the tenant, then ``frontdesk ingest`` of its pages."""
        issued = await asyncio.to_thread(
            self._frontdesk, "keys", "create", "--tenant", tenant_of(kb), "--role", "admin"
        )
        key = issued.strip().splitlines()[0]
        self.keys[kb] = key
        folder = write_pages(pages, self._workdir / "pages" / kb)
        out = await asyncio.to_thread(
            self._frontdesk,
            "ingest",
            str(folder),
            "--kb",
            KB_ID,
            "--url",
            self.url,
            "--api-key",
            key,
        )
        done = re.search(
            r"done: (\d+) created, (\d+) replaced, (\d+) unchanged, (\d+) skipped", out
        )
        if not done or int(done.group(4)):
            raise RuntimeError(f"frontdesk ingest did not ingest every page:\n{out}")
        return int(done.group(1)) + int(done.group(2)) + int(done.group(3))
