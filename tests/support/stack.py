"""Starts Frontdesk's services as separate OS processes, the way operators run them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.cleanup import purge_broker, purge_redis

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """One running service."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """A distributed Frontdesk: gateway, orchestrators, retriever, escalation."""

    env: dict[str, str]
    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, service: str) -> Process:
        """Start one service process and return it (not yet ready)."""
        port = free_port()
        log = self.log_dir / f"{service}-{port}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}", "--port", str(port)],
            cwd=REPO,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        process = Process(service, port, popen, log)
        self.processes.append(process)
        return process

    def wait_ready(self) -> None:
        """Block until every process answers /readyz with 200."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for process in self.processes:
            while True:
                if process.popen.poll() is not None:
                    raise RuntimeError(f"{process.name} exited:\n{process.log.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{process.url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{process.name} not ready:\n{process.log.read_text()[-3000:]}"
                    )
                time.sleep(0.2)

    def of(self, service: str) -> list[Process]:
        """Running processes of one service."""
        return [p for p in self.processes if p.name == service]

    def stop(self) -> None:
        """Terminate every process (killing any that linger), then remove the stack's queues,
        exchanges and Redis keys."""
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.popen.kill()
        purge_broker(self.env["RABBITMQ_URL"], self.env["BROKER_PREFIX"])
        purge_redis(self.env["REDIS_URL"], self.env["REDIS_PREFIX"])


def stack_env(**overrides: str) -> dict[str, str]:
    """The parent environment plus the given settings, with an isolated .env-free config."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    # The distributed stack syncs no folder unless told: tests ask the sample help centre.
    env.update({"LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", "KNOWLEDGE_DIR": "sample"})
    env.update(overrides)
    return env
