"""Faults a deployment lives through, as its customers see them: a first deployment, a rolling
restart, a crashed worker, a Redis that drops its connections or restarts.

The drills (tests/support/drills.py) run against separate processes on the machine's RabbitMQ
and a Redis of their own (restarting the shared one would break everyone else's tests).
bench/chaos.py runs the same drills at full size, and the RabbitMQ restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import StackFactory
from tests.support import drills
from tests.support.drills import DrillResult
from tests.support.servers import OwnRedis
from tests.support.services import RABBITMQ_URL, missing, require
from tests.support.stack import Stack

IN_FLIGHT = 8


@pytest.fixture(scope="module")
def llm(stack_factory: StackFactory) -> str:
    return stack_factory.fake_llm(20, 10)


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    if not OwnRedis.available():
        missing("redis-server is not installed (the Redis drills start their own)")
    server = OwnRedis(tmp_path_factory.mktemp("fault-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def first_deployment(
    llm: str, own_redis: OwnRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, DrillResult]]:
    """A stack deployed as a first deployment is: on a fresh broker prefix, the gateway up and
    taking a chat before any worker exists. Its drill result, and the stack for the others."""
    require(RABBITMQ_URL, "RabbitMQ")
    stack = drills.start_drill_stack(
        tmp_path_factory.mktemp("faults"), llm, RABBITMQ_URL, own_redis.url, workers=False
    )
    try:
        yield stack, asyncio.run(drills.fresh_broker_drill(stack))
    finally:
        stack.stop()


@pytest.fixture
def stack(first_deployment: tuple[Stack, DrillResult]) -> Stack:
    """The deployment with two live orchestrators (a drill before may have stopped one)."""
    deployed, _ = first_deployment
    drills.restore(deployed, "orchestrator", 2)
    drills.restore(deployed, "gateway", 1)
    return deployed


def _all(turns: list[drills.StreamedTurn], outcome: str) -> bool:
    return bool(turns) and all(t.outcome == outcome for t in turns)


def test_the_first_chat_of_a_first_deployment_is_answered_once_workers_are_up(
    first_deployment: tuple[Stack, DrillResult],
) -> None:
    _, result = first_deployment
    assert [t.outcome for t in result.in_flight] == ["done"]
    assert _all(result.after, "done")
    assert (result.duplicates, result.unsaved) == (0, 0)


def test_sigterm_lets_an_orchestrator_finish_its_turns_before_it_exits(
    stack: Stack, llm: str
) -> None:
    # Longer than FastStream's old 10-s graceful timeout, which cut such turns.
    result = asyncio.run(drills.sigterm_drill(stack, llm, IN_FLIGHT, seconds=12, after=0))
    assert _all(result.in_flight, "done"), DrillResult.summary(result.in_flight)
    # Sent while it drained: the other worker took them.
    assert _all(result.details["probe_turns"], "done")
    assert result.details["drained"] >= 1  # it did have turns to finish
    assert result.details["exit_code"] is not None
    assert (result.duplicates, result.unsaved, result.gaps) == (0, 0, 0)


def test_turns_of_a_killed_orchestrator_that_had_not_answered_yet_run_again(
    stack: Stack, llm: str
) -> None:
    result = asyncio.run(drills.kill_drill(stack, llm, IN_FLIGHT, mid_answer=False))
    assert _all(result.in_flight, "done"), DrillResult.summary(result.in_flight)
    assert result.details["rerun"]  # the killed worker held some of them
    assert {t.turn_id for t in result.in_flight} & result.details["rerun"]
    # One meta each, ids 1, 2, 3 ... across the two workers, one copy in history.
    assert (result.second_metas, result.gaps) == (0, 0)
    assert (result.duplicates, result.unsaved) == (0, 0)
    assert _all(result.after, "done")


def test_only_the_killed_orchestrators_mid_answer_turns_end_with_an_error(
    stack: Stack, llm: str
) -> None:
    result = asyncio.run(drills.kill_drill(stack, llm, IN_FLIGHT, mid_answer=True))
    failed = {t.turn_id for t in result.in_flight if t.outcome != "done"}
    assert failed, "the killed worker had turns mid-answer"
    assert failed == result.details["failed_cleanly"] & {t.turn_id for t in result.in_flight}
    assert all(t.outcome == "error" for t in result.in_flight if t.turn_id in failed)
    assert (result.duplicates, result.unsaved, result.second_metas) == (0, 0, 0)
    assert _all(result.after, "done")


def test_dropped_redis_connections_cost_no_turn(
    stack: Stack, llm: str, own_redis: OwnRedis
) -> None:
    result = asyncio.run(drills.redis_drill(stack, llm, own_redis, False, IN_FLIGHT))
    assert result.details["dropped"] > 0
    assert _all(result.in_flight, "done"), DrillResult.summary(result.in_flight)
    assert _all(result.after, "done")
    assert (result.duplicates, result.unsaved) == (0, 0)


def test_a_redis_restart_costs_no_turn(stack: Stack, llm: str, own_redis: OwnRedis) -> None:
    result = asyncio.run(drills.redis_drill(stack, llm, own_redis, True, IN_FLIGHT))
    assert _all(result.in_flight, "done"), DrillResult.summary(result.in_flight)
    assert _all(result.after, "done")
    assert (result.duplicates, result.unsaved) == (0, 0)


def test_sigterm_lets_the_gateway_finish_its_open_streams(stack: Stack, llm: str) -> None:
    result = asyncio.run(drills.gateway_sigterm_drill(stack, llm, IN_FLIGHT, seconds=8))
    assert _all(result.in_flight, "done"), DrillResult.summary(result.in_flight)
    assert result.details["readiness"] != "200"  # a load balancer stops sending it turns
    assert (result.duplicates, result.unsaved, result.gaps) == (0, 0, 0)
