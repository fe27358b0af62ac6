"""Fixtures shared by every test layer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import Settings
from tests.support.cleanup import purge_broker, purge_redis
from tests.support.services import RABBITMQ_URL, REDIS_URL, require, unique_prefix

TESTS = Path(__file__).resolve().parent
# A test's layer is the folder it sits in, so a marker can never disagree with where it runs.
LAYER_OF_FOLDER = {
    "unit": "unit",
    "component": "component",
    "integration": "integration",
    "e2e": "e2e",
    "llm": "e2e",  # the real-model suite starts the stack as processes too
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its layer (``-m unit``, ``-m "not e2e"``...), named by its folder."""
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if layer := LAYER_OF_FOLDER.get(folder):
            item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    """Settings for the single-process mode: in-memory transport and store, no LLM."""
    return Settings(
        index_dir=tmp_path / "index",
        _env_file=None,  # type: ignore[call-arg]
        rabbitmq_url="",
        redis_url="",
        api_key="test-key-0123456789",
        openai_api_key="",
        openai_base_url="",
        token_flush_ms=0,
        rate_limit_per_key=0,
        rate_limit_per_tenant=0,
    )


@pytest.fixture
def rabbitmq_url() -> str:
    """The machine's RabbitMQ."""
    return require(RABBITMQ_URL, "RabbitMQ")


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis."""
    return require(REDIS_URL, "Redis")


@pytest.fixture
def real_settings(rabbitmq_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings against the real services, with fresh queue and key prefixes (removed after)."""
    settings = Settings(
        index_dir=tmp_path / "index",
        _env_file=None,  # type: ignore[call-arg]
        rabbitmq_url=rabbitmq_url,
        redis_url=redis_url,
        broker_prefix=unique_prefix("q"),
        redis_prefix=unique_prefix("k"),
        openai_api_key="",
        openai_base_url="",
    )
    yield settings
    purge_broker(rabbitmq_url, settings.broker_prefix)
    purge_redis(redis_url, settings.redis_prefix)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The process's logging as it was, after a test that reconfigures it."""
    root, factory = logging.getLogger(), logging.getLogRecordFactory()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    logging.setLogRecordFactory(factory)
