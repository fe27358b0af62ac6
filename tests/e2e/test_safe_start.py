"""Starting a service the way operators do: development mode says so and stays on loopback,
and a placeholder key stops the process before it serves anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import API_KEY
from tests.support.services import RABBITMQ_URL, REDIS_URL, require, unique_prefix
from tests.support.stack import REPO, Process, Stack, free_port, stack_env


def _env(**settings: str) -> dict[str, str]:
    require(RABBITMQ_URL, "RabbitMQ")
    require(REDIS_URL, "Redis")
    defaults = {
        "RABBITMQ_URL": RABBITMQ_URL,
        "REDIS_URL": REDIS_URL,
        "BROKER_PREFIX": unique_prefix("start"),
        "REDIS_PREFIX": unique_prefix("start"),
        "API_KEY": "",
        "AGENT_KEYS": "",
        "JWT_SECRET": "",
        "ALLOW_INSECURE_DEV_MODE": "false",
    }
    return stack_env(**(defaults | settings))


def _refused(command: list[str], env: dict[str, str]) -> str:
    """What a start that must fail printed; it fails fast, before it listens."""
    result = subprocess.run(
        [sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0, result.stdout + result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "services.gateway", "--host", "0.0.0.0"],
        ["-m", "services.orchestrator", "--host", "::"],
        ["-m", "services.cli", "run", "--host", "0.0.0.0"],
    ],
)
def test_development_mode_refuses_to_listen_beyond_loopback(command: list[str]) -> None:
    port = str(free_port())
    message = _refused([*command, "--port", port], _env())
    assert "refuses to start: API_KEY is empty" in message
    assert "ALLOW_INSECURE_DEV_MODE=true" in message
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"API_KEY": "REPLACE_ME"}, "API_KEY: looks like a placeholder"),
        ({"API_KEY": "your-api-key"}, "API_KEY: looks like a placeholder"),
        ({"API_KEY": "   "}, "API_KEY: looks empty"),
        ({"API_KEY": "s3cret-9chr"}, "API_KEY: is shorter than 16 characters"),
        ({"API_KEY": API_KEY, "AGENT_KEYS": "alice:changeme"}, "AGENT_KEYS: the key of agent"),
        ({"API_KEY": API_KEY, "JWT_SECRET": "jwt-secret-2024"}, "JWT_SECRET: is shorter than 32"),
    ],
)
def test_a_placeholder_or_weak_key_stops_the_service_with_a_clear_message(
    settings: dict[str, str], named: str
) -> None:
    message = _refused(["-m", "services.gateway", "--port", str(free_port())], _env(**settings))
    assert "services.gateway refuses to start" in message and named in message
    assert "Traceback" not in message
    for secret in (v.split(":")[-1].strip() for v in settings.values() if v != API_KEY):
        assert not secret or secret not in message  # the value itself is never printed


def _started(log_dir: Path, host: str, **settings: str) -> tuple[Stack, Process]:
    stack = Stack(env=_env(**settings), log_dir=log_dir)
    port = free_port()
    log = log_dir / f"gateway-{port}.log"
    popen = subprocess.Popen(
        [sys.executable, "-m", "services.gateway", "--host", host, "--port", str(port)],
        cwd=REPO,
        env=stack.env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    stack.processes.append(Process("gateway", port, popen, log))
    stack.wait_ready()
    return stack, stack.processes[0]


def test_development_mode_on_loopback_starts_with_a_loud_warning(tmp_path: Path) -> None:
    stack, gateway = _started(tmp_path, "127.0.0.1")
    try:
        assert "DEVELOPMENT MODE: API_KEY is empty" in gateway.log.read_text()
        assert "Listening on 127.0.0.1 only" in gateway.log.read_text()
    finally:
        stack.stop()


def test_exposed_development_mode_needs_an_explicit_setting_and_says_so(tmp_path: Path) -> None:
    stack, gateway = _started(tmp_path, "0.0.0.0", ALLOW_INSECURE_DEV_MODE="true")
    try:
        log = gateway.log.read_text()
        assert "DEVELOPMENT MODE" in log and "EXPOSED on 0.0.0.0" in log
        assert httpx.get(f"{gateway.url}/readyz", timeout=5).status_code == 200
    finally:
        stack.stop()
