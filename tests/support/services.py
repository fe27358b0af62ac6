"""Locating the machine's RabbitMQ and Redis: skip locally when absent, fail in CI."""

from __future__ import annotations

import os
import socket
import uuid
from typing import NoReturn
from urllib.parse import urlparse

import pytest

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=2):
            return True
    except OSError:
        return False


def missing(message: str) -> NoReturn:
    """Skip a test whose dependency is absent locally; fail it in CI (CI=true), which has all."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message} (CI must run against real services)")
    pytest.skip(message)


def require(url: str, name: str) -> str:
    """The URL if its server answers; otherwise skip (locally) or fail (CI=true)."""
    if not _reachable(url):
        missing(f"{name} is not reachable at {url}")
    return url


def unique_prefix(kind: str) -> str:
    """A fresh queue or key prefix so tests never see each other's data."""
    return f"test-{kind}-{uuid.uuid4().hex[:10]}"
