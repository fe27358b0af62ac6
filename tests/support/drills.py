"""Fault drills on the distributed stack: put turns in flight, inject one fault, and record what
the customers saw. bench/chaos.py prints them as a table; tests/e2e/test_faults.py asserts on
the fast ones.

Each drill returns a DrillResult: how the turns in flight at the fault ended, how turns sent
after it ended, how long until a new turn was answered again, and what the sessions' history
holds (a turn twice, or a completed turn missing).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from tests.support.servers import OwnRabbitMQ, OwnRedis
from tests.support.stack import Process, Stack, stack_env

API_KEY = "drill-key-0123456789abcdef"
HEADERS = {"X-API-Key": API_KEY}
QUESTION = "How long does standard shipping take?"
WAIT_SECONDS = 120  # bound on any one wait of a drill: far above a healthy run's


@dataclass
class StreamedTurn:
    """One streamed chat as its customer saw it; filled in while it runs."""

    message: str
    sent_at: float
    outcome: str = "open"  # done | error | http <status> | cut | timeout
    session_id: str = ""
    turn_id: str = ""
    events: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        """Token events received."""
        return self.events.count("token")

    @property
    def numbered_in_order(self) -> bool:
        """Event ids run 1, 2, 3 ... with no gap or repeat (so resuming works)."""
        return self.ids == list(range(1, len(self.ids) + 1))


@dataclass
class DrillResult:
    """What one fault did to the customers."""

    name: str
    in_flight: list[StreamedTurn]
    after: list[StreamedTurn]
    recovery_seconds: float | None
    duplicates: int
    unsaved: int
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def _all_turns(self) -> list[StreamedTurn]:
        return self.in_flight + self.after + self.details.get("probe_turns", [])

    @property
    def second_metas(self) -> int:
        """Streams that got a second meta."""
        return sum(t.events.count("meta") > 1 for t in self._all_turns)

    @property
    def gaps(self) -> int:
        """Streams whose event ids skip or repeat (an event lost on the way: resumable)."""
        return sum(not t.numbered_in_order for t in self._all_turns)

    @staticmethod
    def summary(turns: list[StreamedTurn]) -> str:
        """``20/20 done`` or ``10 done, 10 error``."""
        counts = Counter(t.outcome for t in turns)
        if set(counts) == {"done"}:
            return f"{len(turns)}/{len(turns)} done"
        return ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common()) or "-"


# ----------------------------------------------------------------------------- the stack


def start_drill_stack(
    log_dir: Path,
    llm: str,
    rabbitmq_url: str,
    redis_url: str,
    orchestrators: int = 2,
    workers: bool = True,
    **env: str,
) -> Stack:
    """A gateway and (unless ``workers`` is False) orchestrators, a retriever and an
    escalation worker on the given servers, with the fake LLM; ready when it returns."""
    stack = Stack(
        env=stack_env(
            RABBITMQ_URL=rabbitmq_url,
            REDIS_URL=redis_url,
            BROKER_PREFIX=f"drill-{uuid.uuid4().hex[:10]}",
            REDIS_PREFIX=f"drill-{uuid.uuid4().hex[:10]}",
            API_KEY=API_KEY,
            INDEX_DIR=str(log_dir / "index"),
            OPENAI_BASE_URL=f"{llm}/v1",
            OPENAI_API_KEY="fake",
            LLM_MODEL="fake-model",
            # The fake model's answers are random words: streamed unchecked, as drills need.
            GROUNDING_GUARD="off",
            LOG_FORMAT="text",
            **{
                "MAX_CONCURRENT_LLM_CALLS": "1000",
                "RATE_LIMIT_PER_KEY": "0",
                "RATE_LIMIT_PER_TENANT": "0",
                "TOKEN_FLUSH_MS": "100",
                **env,
            },
        ),
        log_dir=log_dir,
    )
    try:
        stack.start("gateway")
        if workers:
            start_workers(stack, orchestrators)
        stack.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack


def start_workers(stack: Stack, orchestrators: int) -> None:
    """Start the workers (not waiting for them)."""
    stack.start("retriever")
    stack.start("escalation")
    for _ in range(orchestrators):
        stack.start("orchestrator")


def running(stack: Stack, service: str) -> list[Process]:
    """The service's processes that are still alive."""
    return [p for p in stack.of(service) if p.popen.poll() is None]


def restore(stack: Stack, service: str, count: int) -> None:
    """Forget stopped processes of ``service`` and start fresh ones, so the next drill has
    ``count`` of them."""
    for gone in [p for p in stack.of(service) if p.popen.poll() is not None]:
        stack.processes.remove(gone)
    for _ in range(count - len(running(stack, service))):
        stack.start(service)
    stack.wait_ready()


def set_llm(llm: str, **control: Any) -> None:
    """Reconfigure the fake LLM (see bench/fake_llm.py ``/_control``)."""
    httpx.post(f"{llm}/_control", json={"mode": "normal", **control}, timeout=5).raise_for_status()


def answer(tokens: int, tokens_per_second: float) -> dict[str, float]:
    """Fake LLM settings: answers of ``tokens`` tokens at this rate."""
    return {"tokens": tokens, "tokens_per_second": tokens_per_second}


# --------------------------------------------------------------------------- customers


async def _stream(client: httpx.AsyncClient, turn: StreamedTurn) -> None:
    try:
        async with aconnect_sse(
            client, "POST", "/api/v1/chat/stream", json={"message": turn.message}
        ) as source:
            response = source.response
            turn.session_id = response.headers.get("x-session-id", "")
            turn.turn_id = response.headers.get("x-turn-id", "")
            if response.status_code != 200:
                await response.aread()
                turn.outcome = f"http {response.status_code}"
                return
            async for sse in source.aiter_sse():
                turn.events.append(sse.event)
                if sse.id:
                    turn.ids.append(int(sse.id.rsplit(":", 1)[-1]))
                if sse.event in ("done", "error"):
                    turn.outcome = sse.event
                    return
        turn.outcome = "cut"  # the stream ended without done or error
    except httpx.HTTPError:
        turn.outcome = "cut"


async def _bounded(client: httpx.AsyncClient, turn: StreamedTurn) -> None:
    try:
        await asyncio.wait_for(_stream(client, turn), WAIT_SECONDS)
    except TimeoutError:
        turn.outcome = "timeout"


class Customers:
    """Streamed chats in flight at once, each asking a question of its own (so none is
    answered from the hot cache)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        # Neutral on purpose: a drill's name ("kill -9") would read as an upset customer.
        self._tag = uuid.uuid4().hex[:6]
        self._tasks: list[asyncio.Task[None]] = []
        self._count = 0

    def send(self, n: int = 1) -> list[StreamedTurn]:
        """Start ``n`` chats."""
        turns = []
        for _ in range(n):
            self._count += 1
            message = f"{QUESTION} (reference {self._tag}-{self._count})"
            turn = StreamedTurn(message, time.monotonic())
            self._tasks.append(asyncio.create_task(_bounded(self._client, turn)))
            turns.append(turn)
        return turns

    async def finish(self) -> None:
        """Wait for every chat started so far to end."""
        await asyncio.gather(*self._tasks)


async def until(predicate: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Poll ``predicate`` until true; a drill that stalls fails instead of hanging."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"drill stalled: {what} not within {seconds:.0f}s")
        await asyncio.sleep(0.05)


async def probe_until_answered(
    customers: Customers, since: float, every: float = 1.0, limit: float = 60
) -> tuple[float | None, list[StreamedTurn]]:
    """Send a chat every ``every`` seconds until one is answered: the seconds from ``since``
    to the sending of the first that was, and every probe sent."""
    probes: list[StreamedTurn] = []
    while time.monotonic() < since + limit and not any(p.outcome == "done" for p in probes):
        probes += customers.send()
        await asyncio.sleep(every)
    await until(lambda: all(p.outcome != "open" for p in probes), "probes to end")
    answered = [p.sent_at for p in probes if p.outcome == "done"]
    return (max(0.0, min(answered) - since) if answered else None), probes


async def audit_history(client: httpx.AsyncClient, turns: list[StreamedTurn]) -> tuple[int, int]:
    """(turns saved more than once, completed turns not saved) in their sessions' history."""
    duplicates = unsaved = 0
    for turn in turns:
        if not turn.session_id or not turn.turn_id:
            continue
        page = await client.get(
            f"/api/v1/sessions/{turn.session_id}/messages", params={"limit": 100}
        )
        messages = page.json().get("messages", []) if page.status_code == 200 else []
        asked = [m for m in messages if m.get("turn_id") == turn.turn_id and m["role"] == "user"]
        duplicates += len(asked) > 1
        unsaved += turn.outcome == "done" and not asked
    return duplicates, unsaved


def logged_turns(process: Process, text: str, since_byte: int = 0) -> set[str]:
    """Turn ids on the process's log lines that contain ``text`` (after ``since_byte``)."""
    with process.log.open("rb") as log:
        log.seek(since_byte)
        lines = log.read().decode(errors="replace").splitlines()
    found = (re.search(r"\[turn=(\S+) ", line) for line in lines if text in line)
    return {m.group(1) for m in found if m}


async def _seconds_until_exit(process: Process, since: float) -> float:
    await until(lambda: process.popen.poll() is not None, f"{process.name} to exit")
    return time.monotonic() - since


def log_size(process: Process) -> int:
    """Where the process's log ends now."""
    return process.log.stat().st_size


# ------------------------------------------------------------------------------ drills


async def _with_customers(
    gateway: str, body: Callable[[httpx.AsyncClient, Customers], Awaitable[DrillResult]]
) -> DrillResult:
    async with httpx.AsyncClient(base_url=gateway, headers=HEADERS, timeout=None) as client:
        customers = Customers(client)
        try:
            return await body(client, customers)
        finally:
            await customers.finish()


async def _after_fault(
    client: httpx.AsyncClient,
    customers: Customers,
    name: str,
    in_flight: list[StreamedTurn],
    since: float,
    after: int,
    outage: asyncio.Task[float] | None = None,
    **details: Any,
) -> DrillResult:
    """The common tail of a drill: probe until answered (while ``outage``, a restart that
    returns its seconds, goes on), then a batch of later turns once it is over, then wait for
    everything and audit the history."""
    recovery, probes = await probe_until_answered(customers, since, limit=90)
    note = ""
    if outage is not None:
        down = await outage
        back = "-" if recovery is None else f"{max(0.0, recovery - down):.1f}s"
        note = f"down and back after {down:.1f}s; answering {back} after it was back"
    later = customers.send(after)
    await customers.finish()
    duplicates, unsaved = await audit_history(client, in_flight + probes + later)
    return DrillResult(
        name,
        in_flight,
        later,
        recovery,
        duplicates,
        unsaved,
        note,
        {"probes": DrillResult.summary(probes), "probe_turns": probes, **details},
    )


def _restart(restart: Callable[[], None]) -> asyncio.Task[float]:
    """Run a blocking restart in a thread; the task's result is how long it took."""

    async def timed() -> float:
        started = time.monotonic()
        await asyncio.to_thread(restart)
        return time.monotonic() - started

    return asyncio.create_task(timed())


async def sigterm_drill(
    stack: Stack, llm: str, in_flight: int, seconds: float, after: int = 5
) -> DrillResult:
    """SIGTERM to one of two orchestrators while long turns run: every turn must complete."""
    tps = 2.0
    set_llm(llm, **answer(int(seconds * tps) + 1, tps))
    victim = running(stack, "orchestrator")[0]
    start = log_size(victim)

    async def body(client: httpx.AsyncClient, customers: Customers) -> DrillResult:
        turns = customers.send(in_flight)
        await until(lambda: all(t.tokens for t in turns), "first tokens of every turn")
        fault = time.monotonic()
        victim.popen.send_signal(signal.SIGTERM)
        exited = asyncio.create_task(_seconds_until_exit(victim, fault))
        result = await _after_fault(
            client, customers, "SIGTERM to one orchestrator", turns, fault, after
        )
        found = re.search(rb"waiting up to \S+ for (\d+) message", victim.log.read_bytes()[start:])
        drained = int(found.group(1)) if found else 0
        result.note = (
            f"{drained} turns drained; the worker exited {await exited:.1f}s after SIGTERM"
        )
        result.details |= {"drained": drained, "exit_code": victim.popen.returncode}
        return result

    return await _with_customers(stack.of("gateway")[0].url, body)


async def gateway_sigterm_drill(
    stack: Stack, llm: str, in_flight: int, seconds: float
) -> DrillResult:
    """SIGTERM to the gateway while its streams run: it takes no new connection (so its
    readiness fails) and every open stream runs to its end before it exits."""
    tps = 2.0
    set_llm(llm, **answer(int(seconds * tps) + 1, tps))
    gateway = running(stack, "gateway")[0]

    async def body(client: httpx.AsyncClient, customers: Customers) -> DrillResult:
        turns = customers.send(in_flight)
        await until(lambda: all(t.tokens for t in turns), "first tokens of every turn")
        fault = time.monotonic()
        gateway.popen.send_signal(signal.SIGTERM)
        exited = asyncio.create_task(_seconds_until_exit(gateway, fault))
        await asyncio.sleep(0.5)
        ready = await _readiness(client)
        await customers.finish()
        note = f"/readyz while draining: {ready}; it exited {await exited:.1f}s after SIGTERM"
        duplicates, unsaved = await audit_stores(stack, turns)
        return DrillResult(
            "SIGTERM to the gateway",
            turns,
            [],
            None,
            duplicates,
            unsaved,
            note,
            {"readiness": ready},
        )

    return await _with_customers(gateway.url, body)


async def _readiness(client: httpx.AsyncClient) -> str:
    try:
        return str((await client.get("/readyz", timeout=5)).status_code)
    except httpx.HTTPError:
        return "refused"


async def audit_stores(stack: Stack, turns: list[StreamedTurn]) -> tuple[int, int]:
    """audit_history through another gateway (one is started if none is running)."""
    if not running(stack, "gateway"):
        await asyncio.to_thread(restore, stack, "gateway", 1)
    url = running(stack, "gateway")[0].url
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30) as client:
        return await audit_history(client, turns)


async def kill_drill(
    stack: Stack, llm: str, in_flight: int, mid_answer: bool, after: int = 5
) -> DrillResult:
    """kill -9 of one of two orchestrators, before the first token (the LLM's first token is
    4 s away) or mid-answer: re-run in the first case, a clean error in the second."""
    if mid_answer:
        set_llm(llm, **answer(40, 10))
    else:
        set_llm(llm, mode="stall", stall_seconds=4, **answer(10, 20))
    victim, survivors = running(stack, "orchestrator")[0], running(stack, "orchestrator")[1:]
    marks = {p.port: log_size(p) for p in survivors}
    name = "kill -9 mid-answer" if mid_answer else "kill -9 before first token"

    async def body(client: httpx.AsyncClient, customers: Customers) -> DrillResult:
        turns = customers.send(in_flight)
        if mid_answer:
            await until(lambda: all(t.tokens for t in turns), "first tokens of every turn")
        else:
            await until(lambda: all("meta" in t.events for t in turns), "meta of every turn")
        fault = time.monotonic()
        victim.popen.kill()
        result = await _after_fault(client, customers, name, turns, fault, after)
        rerun = set().union(
            *(logged_turns(p, "running it again", marks[p.port]) for p in survivors)
        )
        failed = set().union(
            *(logged_turns(p, "redelivered mid-answer", marks[p.port]) for p in survivors)
        )
        result.details |= {"rerun": rerun, "failed_cleanly": failed}
        result.note = f"{len(rerun)} re-run, {len(failed)} failed cleanly by the other worker"
        return result

    return await _with_customers(stack.of("gateway")[0].url, body)


async def redis_drill(
    stack: Stack, llm: str, redis: OwnRedis, restart: bool, in_flight: int, after: int = 5
) -> DrillResult:
    """Drop every Redis connection (CLIENT KILL TYPE normal), or restart Redis, while turns run."""
    set_llm(llm, **answer(20, 5))
    name = "Redis restart" if restart else "Redis connection reset"

    async def body(client: httpx.AsyncClient, customers: Customers) -> DrillResult:
        turns = customers.send(in_flight)
        await until(lambda: all("meta" in t.events for t in turns), "meta of every turn")
        fault = time.monotonic()
        if restart:
            outage, dropped = _restart(redis.restart), 0
        else:
            outage, dropped = None, await asyncio.to_thread(redis.reset_connections)
        result = await _after_fault(
            client, customers, name, turns, fault, after, outage, dropped=dropped
        )
        result.note = result.note or f"{dropped} connections dropped"
        return result

    return await _with_customers(stack.of("gateway")[0].url, body)


async def fresh_broker_drill(
    stack: Stack, orchestrators: int = 2, after: int = 5, wait: float = 2
) -> DrillResult:
    """A first deployment: the gateway is up on a fresh broker prefix before any worker; the
    first chat must be answered once workers come up, not lost."""

    async def body(client: httpx.AsyncClient, customers: Customers) -> DrillResult:
        first = customers.send()
        await asyncio.sleep(wait)  # the chat is published with no worker anywhere
        fault = time.monotonic()
        start_workers(stack, orchestrators)
        await asyncio.to_thread(stack.wait_ready)
        ready = time.monotonic() - fault
        await until(lambda: first[0].outcome != "open", "the first chat to end")
        waited = time.monotonic() - first[0].sent_at
        later = customers.send(after)
        await customers.finish()
        duplicates, unsaved = await audit_history(client, first + later)
        note = f"workers ready after {ready:.1f}s; first chat answered after {waited:.1f}s"
        return DrillResult("fresh broker", first, later, waited, duplicates, unsaved, note)

    return await _with_customers(stack.of("gateway")[0].url, body)


async def rabbitmq_restart_drill(
    stack: Stack, llm: str, node: OwnRabbitMQ, in_flight: int, after: int = 5
) -> DrillResult:
    """Restart RabbitMQ while turns run; new turns must be answered again soon after."""
    set_llm(llm, **answer(20, 5))

    async def body(client: httpx.AsyncClient, customers: Customers) -> DrillResult:
        turns = customers.send(in_flight)
        await until(lambda: all("meta" in t.events for t in turns), "meta of every turn")
        fault = time.monotonic()
        return await _after_fault(
            client, customers, "RabbitMQ restart", turns, fault, after, _restart(node.restart)
        )

    return await _with_customers(stack.of("gateway")[0].url, body)


def table(results: list[DrillResult]) -> str:
    """The drills as a Markdown table."""
    rows = [
        "| drill | in flight at the fault | turns after | answering again after | "
        "duplicates in history | completed but unsaved | second meta | gaps in seq | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        recovery = "-" if r.recovery_seconds is None else f"{r.recovery_seconds:.1f} s"
        notes = "; ".join(
            filter(
                None, [r.note, f"probes: {r.details['probes']}" if "probes" in r.details else ""]
            )
        )
        rows.append(
            f"| {r.name} | {DrillResult.summary(r.in_flight)} | {DrillResult.summary(r.after)} | "
            f"{recovery} | {r.duplicates} | {r.unsaved} | {r.second_metas} | {r.gaps} | {notes} |"
        )
    return "\n".join(rows)


def as_json(results: list[DrillResult]) -> str:
    """The drills as JSON (turn ids left out)."""
    return json.dumps(
        [
            {
                "drill": r.name,
                "in_flight": dict(Counter(t.outcome for t in r.in_flight)),
                "after": dict(Counter(t.outcome for t in r.after)),
                "recovery_seconds": r.recovery_seconds,
                "duplicates": r.duplicates,
                "unsaved": r.unsaved,
                "note": r.note,
            }
            for r in results
        ],
        indent=2,
    )
