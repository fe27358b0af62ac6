"""Turn-latency and throughput benchmark: Frontdesk vs. the bare baseline, same run.

    .venv/bin/python bench/turns.py [--quick] [--baseline-only] [--burst N]

Starts (each as its own process, on free 127.0.0.1 ports):
  * bench/fake_llm.py        the OpenAI-compatible fake LLM (fixed token rate)
  * bench/baseline_app.py    the baseline (FastAPI + Redis + openai client, 1 uvicorn worker)
  * python -m services.{gateway,orchestrator,retriever,escalation} --port P
                             the Frontdesk stack (skipped with --baseline-only)
then measures both targets with the same client code, alternating between them, prints a
table of Frontdesk/baseline ratios and writes bench/results/turns-<timestamp>.json.
The phases: cache hits, sequential misses (with each stream's token events per second),
closed-loop load at fixed concurrency, and a burst of N streams opened at once.
Every child process is stopped at the end (also on Ctrl-C / SIGTERM).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

HOST = "127.0.0.1"
API_KEY = "bench-key-0123456789abcdef"
KNOWLEDGE_QUESTION = "How long does standard shipping take?"
FRONTDESK_REDIS_URL = "redis://127.0.0.1:6379/14"
BASELINE_REDIS_URL = "redis://127.0.0.1:6379/15"
BASELINE_KEY_PREFIX = "bench:baseline:"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
SERVICES = ("gateway", "orchestrator", "retriever", "escalation")

READY_TIMEOUT_S = 60.0
TURN_TIMEOUT_S = 60.0  # hard bound on one request, whatever the server does
DRAIN_TIMEOUT_S = 2.0  # after `event: done`, how long we wait for the stream to end
MAX_LOOP_ITERATIONS = 1_000_000  # belt and braces on top of the time bounds
# The goal for one stream: Frontdesk coalesces tokens per TOKEN_FLUSH_MS window (150 ms).
TOKEN_EVENTS_GOAL_PER_S = 10.0


# --------------------------------------------------------------------------- processes


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    stdout_path: Path
    stderr_path: Path

    def tail(self, n: int = 30) -> str:
        out = []
        for label, path in (("stderr", self.stderr_path), ("stdout", self.stdout_path)):
            try:
                lines = path.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                lines = []
            if lines:
                out.append(f"--- {self.name} {label} (last {len(lines)} lines) ---")
                out.extend(lines)
        status = self.popen.poll()
        out.insert(
            0,
            f"=== {self.name} (pid {self.popen.pid}, "
            f"{'running' if status is None else f'exited rc={status}'}) ===",
        )
        return "\n".join(out)


class ProcessGroup:
    """Children started by this harness; each in its own session so we can stop it and
    anything it spawned with one killpg on its own process-group id."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Child:
        stdout_path = self.log_dir / f"{name}.out"
        stderr_path = self.log_dir / f"{name}.err"
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            popen = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        child = Child(name, popen, stdout_path, stderr_path)
        self.children.append(child)
        return child

    def _signal(self, child: Child, sig: int) -> None:
        # Only while the leader is unreaped: its pid (= its pgid) is then still ours.
        if child.popen.poll() is None:
            try:
                os.killpg(child.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def stop_all(self, grace_s: float = 5.0) -> None:
        for child in self.children:
            self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in self.children:
            try:
                child.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for child in self.children:
            if child.popen.poll() is None:
                self._signal(child, signal.SIGKILL)
                try:
                    child.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    print(
                        f"warning: {child.name} (pid {child.popen.pid}) did not exit",
                        file=sys.stderr,
                    )

    def tails(self, n: int = 30) -> str:
        return "\n\n".join(c.tail(n) for c in self.children)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each child, with whatever it spawned."""
        return {c.name: group_cpu_seconds(c.popen.pid) for c in self.children}


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes in process group ``pgid`` (Linux)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the command name, which may hold spaces: state is [0], the
            # process group [2], utime and stime [11] and [12] (proc(5) fields 3, 5, 14, 15).
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


STAGES = (
    "gateway_publish",
    "orchestrator_queue",
    "session_load",
    "routing",
    "retrieval_embed",
    "retrieval_search",
    "meta_publish",
    "meta_relay",
)
# One after the other on the way to meta; the retrieval stages run inside routing.
SERIAL_STAGES = ("orchestrator_queue", "session_load", "routing", "meta_publish", "meta_relay")


async def stage_totals(client: httpx.AsyncClient, ports: dict[str, int]) -> dict[str, list[float]]:
    """[seconds, count] per stage of frontdesk_turn_stage_seconds, summed over the services."""
    totals = {stage: [0.0, 0.0] for stage in STAGES}
    for port in ports.values():
        response = await client.get(f"http://{HOST}:{port}/metrics")
        response.raise_for_status()
        for family in text_string_to_metric_families(response.text):
            if family.name != "frontdesk_turn_stage_seconds":
                continue
            for sample in family.samples:
                stage = sample.labels.get("stage")
                if stage in totals and sample.name.endswith(("_sum", "_count")):
                    totals[stage][sample.name.endswith("_count")] += sample.value
    return totals


def stage_means_ms(
    before: dict[str, list[float]], after: dict[str, list[float]]
) -> dict[str, float | None]:
    """Mean milliseconds per observation of each stage between two scrapes."""
    means: dict[str, float | None] = {}
    for stage in STAGES:
        seconds = after[stage][0] - before[stage][0]
        count = after[stage][1] - before[stage][1]
        means[stage] = seconds * 1000 / count if count else None
    return means


def cpu_ms_per_turn(
    before: dict[str, float], after: dict[str, float], turns: dict[str, int]
) -> dict[str, float | None]:
    """Each target's processes' CPU milliseconds per completed turn of that target."""
    out: dict[str, float | None] = {}
    for name in after:
        target = "baseline" if name == "baseline" else "frontdesk" if name in SERVICES else None
        if target is None or target not in turns:
            continue  # the fake LLM serves both targets
        done = turns[target]
        out[name] = (after[name] - before.get(name, 0.0)) * 1000 / done if done else None
    return out


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def wait_ready(
    procs: ProcessGroup, checks: list[tuple[Child, str]], timeout_s: float = READY_TIMEOUT_S
) -> None:
    """Wait until every URL answers 200. Fails fast if a process exits."""
    pending = dict((url, child) for child, url in checks)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as client:
        while pending and time.monotonic() < deadline:
            for url, child in list(pending.items()):
                if child.popen.poll() is not None:
                    raise RuntimeError(
                        f"{child.name} exited (rc={child.popen.returncode}) before ready"
                    )
                try:
                    if (await client.get(url)).status_code == 200:
                        del pending[url]
                except httpx.HTTPError:
                    pass
            if pending:
                await asyncio.sleep(0.25)
    if pending:
        names = ", ".join(f"{c.name} ({u})" for u, c in pending.items())
        raise RuntimeError(f"not ready after {timeout_s:.0f}s: {names}")


# --------------------------------------------------------------------------- statistics


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); with fewer than 100 samples p99 is the max."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarize(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "median": None, "p99": None, "min": None, "max": None, "mean": None}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


class ErrorLog:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.samples: list[str] = []

    def add(self, kind: str, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.samples) < 5:
            self.samples.append(f"{kind}: {detail[:300]}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_kind": dict(self.counts), "samples": list(self.samples)}


# --------------------------------------------------------------------------- client side


@dataclass
class Target:
    name: str
    base_url: str
    client: httpx.AsyncClient = field(repr=False)


def chat_body(message: str) -> dict[str, Any]:
    return {"message": message, "channel": "api", "user_id": "bench"}


def unique_message() -> str:
    return f"{KNOWLEDGE_QUESTION} (ref {uuid.uuid4()})"


@dataclass
class SyncResult:
    ok: bool
    latency_ms: float
    error_kind: str = ""
    error: str = ""


async def sync_turn(target: Target, message: str) -> SyncResult:
    t0 = time.perf_counter()
    try:
        resp = await asyncio.wait_for(
            target.client.post("/api/v1/chat", json=chat_body(message)), TURN_TIMEOUT_S
        )
        elapsed = (time.perf_counter() - t0) * 1000.0
        if resp.status_code != 200:
            return SyncResult(False, elapsed, f"http_{resp.status_code}", resp.text[:300])
        return SyncResult(True, elapsed)
    except Exception as exc:  # noqa: BLE001 - every failure is a counted error
        return SyncResult(False, (time.perf_counter() - t0) * 1000.0, type(exc).__name__, str(exc))


@dataclass
class StreamResult:
    ok: bool
    started: float  # perf_counter at request start
    meta_ms: float | None = None
    token_ms: float | None = None
    done_ms: float | None = None
    token_events: int = 0  # `event: token` lines read before `done`
    ended: float = 0.0  # perf_counter when `done` arrived (or when the turn failed)
    error_kind: str = ""
    error: str = ""


async def _read_stream(target: Target, message: str, res: StreamResult) -> None:
    async with target.client.stream("POST", "/api/v1/chat/stream", json=chat_body(message)) as resp:
        if resp.status_code != 200:
            body = (await resp.aread())[:300].decode(errors="replace")
            res.error_kind, res.error = f"http_{resp.status_code}", body
            return
        lines = resp.aiter_lines()
        in_error = False
        async for line in lines:
            if line.startswith("event:"):
                event = line[6:].strip()
                now_ms = (time.perf_counter() - res.started) * 1000.0
                if event == "meta" and res.meta_ms is None:
                    res.meta_ms = now_ms
                elif event == "token":
                    res.token_events += 1
                    if res.token_ms is None:
                        res.token_ms = now_ms
                elif event == "error":
                    in_error = True
                    res.error_kind, res.error = "sse_error", ""
                elif event == "done":
                    res.done_ms = now_ms
                    res.ended = time.perf_counter()
                    res.ok = True
                    break
            elif in_error and line.startswith("data:"):
                res.error = line[5:].strip()
                return
        else:
            if not in_error:
                res.error_kind, res.error = "incomplete", "stream ended without `event: done`"
            return

        # Drain to EOF so the keep-alive connection goes back to the pool (bounded).
        async def drain() -> None:
            async for _ in lines:
                pass

        try:
            await asyncio.wait_for(drain(), DRAIN_TIMEOUT_S)
        except (TimeoutError, httpx.HTTPError):
            pass


async def stream_turn(target: Target, message: str) -> StreamResult:
    res = StreamResult(ok=False, started=time.perf_counter())
    try:
        await asyncio.wait_for(_read_stream(target, message, res), TURN_TIMEOUT_S)
    except TimeoutError:
        if not res.ok:
            res.error_kind, res.error = "turn_timeout", f"no `done` within {TURN_TIMEOUT_S:.0f}s"
    except Exception as exc:  # noqa: BLE001 - every failure is a counted error
        if not res.ok:
            res.error_kind, res.error = type(exc).__name__, str(exc)
    if not res.ok:
        res.ended = time.perf_counter()
    return res


def token_events_per_s(r: StreamResult) -> float | None:
    """A completed stream's token events per second, from its first token to `done`."""
    if r.token_ms is None or r.done_ms is None or r.done_ms <= r.token_ms:
        return None
    return r.token_events * 1000.0 / (r.done_ms - r.token_ms)


async def llm_stats(llm: httpx.AsyncClient) -> dict[str, int]:
    try:
        return (await llm.get("/_stats")).json()
    except Exception:  # noqa: BLE001 - stats are diagnostics only
        return {}


def stats_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("requests", "completed", "cancelled")}


def ordered(targets: list[Target], i: int) -> list[Target]:
    """Alternate which target goes first on every iteration."""
    return targets if i % 2 == 0 else list(reversed(targets))


# --------------------------------------------------------------------------- figures


async def measure_cache_hit(
    targets: list[Target], n: int, llm: httpx.AsyncClient
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in targets:  # warm: first ask is a miss that fills the cache
        warm = await sync_turn(t, KNOWLEDGE_QUESTION)
        out[t.name] = {"warm_ok": warm.ok, "warm_ms": warm.latency_ms, "warm_error": warm.error}
    await asyncio.sleep(0.5)  # let an asynchronous cache write land
    lat: dict[str, list[float]] = {t.name: [] for t in targets}
    errs = {t.name: ErrorLog() for t in targets}
    before = await llm_stats(llm)
    for i in range(n):
        for t in ordered(targets, i):
            r = await sync_turn(t, KNOWLEDGE_QUESTION)
            if r.ok:
                lat[t.name].append(r.latency_ms)
            else:
                errs[t.name].add(r.error_kind, r.error)
    delta = stats_delta(before, await llm_stats(llm))
    for t in targets:
        out[t.name].update(
            latency_ms=summarize(lat[t.name]), errors=errs[t.name].as_dict(), samples_ms=lat[t.name]
        )
    # The baseline makes no LLM call on a hit, so any call here came from Frontdesk.
    out["llm_calls_during_phase"] = delta["requests"]
    return out


async def measure_miss(targets: list[Target], n: int, llm: httpx.AsyncClient) -> dict[str, Any]:
    meta: dict[str, list[float]] = {t.name: [] for t in targets}
    token: dict[str, list[float]] = {t.name: [] for t in targets}
    done: dict[str, list[float]] = {t.name: [] for t in targets}
    rate: dict[str, list[float]] = {t.name: [] for t in targets}
    errs = {t.name: ErrorLog() for t in targets}
    before = await llm_stats(llm)
    for i in range(n):
        for t in ordered(targets, i):
            r = await stream_turn(t, unique_message())
            if not r.ok:
                errs[t.name].add(r.error_kind, r.error)
                continue
            if r.meta_ms is not None:
                meta[t.name].append(r.meta_ms)
            if r.token_ms is not None:
                token[t.name].append(r.token_ms)
            done[t.name].append(r.done_ms)
            events_per_s = token_events_per_s(r)
            if events_per_s is not None:
                rate[t.name].append(events_per_s)
    delta = stats_delta(before, await llm_stats(llm))
    out: dict[str, Any] = {"llm_calls_during_phase": delta["requests"]}
    for t in targets:
        out[t.name] = {
            "time_to_meta_ms": summarize(meta[t.name]),
            "time_to_first_token_ms": summarize(token[t.name]),
            "time_to_done_ms": summarize(done[t.name]),
            "token_events_per_s": summarize(rate[t.name]),
            "errors": errs[t.name].as_dict(),
            "missing_meta": len(done[t.name]) - len(meta[t.name]),
            "missing_token": len(done[t.name]) - len(token[t.name]),
        }
    return out


async def measure_load(
    target: Target, concurrency: int, duration_s: float, llm: httpx.AsyncClient
) -> dict[str, Any]:
    """`concurrency` closed-loop clients start turns for `duration_s`; turns in flight at the
    deadline are finished (not abandoned). Each client is busy from `start` until its last
    turn ends, so its rate is turns / (last_end - start); turns/s is the sum over clients.
    (A plain "completed inside the window / duration" count is also reported; with short
    windows and clients that start in lockstep it is quantised by the turn duration.)"""
    results: list[StreamResult] = []
    errs = ErrorLog()
    before = await llm_stats(llm)
    start = time.perf_counter()
    deadline = start + duration_s
    client_rates: list[float] = []

    async def client_loop() -> None:
        ok_turns, last_end = 0, start
        for _ in range(MAX_LOOP_ITERATIONS):
            if time.perf_counter() >= deadline:
                break
            r = await stream_turn(target, unique_message())
            results.append(r)
            last_end = r.ended
            if r.ok:
                ok_turns += 1
            else:
                errs.add(r.error_kind, r.error)
                await asyncio.sleep(0.05)  # don't spin on instant failures
                last_end = time.perf_counter()
        client_rates.append(ok_turns / (last_end - start) if last_end > start else 0.0)

    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    delta = stats_delta(before, await llm_stats(llm))
    ok = [r for r in results if r.ok]
    in_window = [r for r in ok if r.ended <= deadline]
    ttft = [r.token_ms for r in ok if r.token_ms is not None]
    return {
        "concurrency": concurrency,
        "duration_s": duration_s,
        "wall_s": wall,
        "turns": len(ok),
        "turns_per_s": sum(client_rates),
        "turns_in_window": len(in_window),
        "turns_per_s_in_window": len(in_window) / duration_s,
        "errors": errs.as_dict(),
        "time_to_first_token_ms": summarize(ttft),
        "time_to_meta_ms": summarize([r.meta_ms for r in ok if r.meta_ms is not None]),
        "time_to_done_ms": summarize([r.done_ms for r in ok if r.done_ms is not None]),
        "llm": delta,
        "llm_calls_per_turn": (delta["requests"] / len(ok)) if ok else None,
    }


async def measure_burst(target: Target, n: int, llm: httpx.AsyncClient) -> dict[str, Any]:
    """`n` streams opened at once, each read to `done`; the client's pool holds all of them.
    The harness's own CPU time is recorded so a saturated client shows up in the JSON."""
    errs = ErrorLog()
    before = await llm_stats(llm)
    cpu_before = time.process_time()
    start = time.perf_counter()
    results = await asyncio.gather(*(stream_turn(target, unique_message()) for _ in range(n)))
    wall = time.perf_counter() - start
    harness_cpu = time.process_time() - cpu_before
    delta = stats_delta(before, await llm_stats(llm))
    ok = [r for r in results if r.ok]
    for r in results:
        if not r.ok:
            errs.add(r.error_kind, r.error)
    return {
        "streams": n,
        "wall_s": wall,
        "turns": len(ok),
        "errors": errs.as_dict(),
        "time_to_meta_ms": summarize([r.meta_ms for r in ok if r.meta_ms is not None]),
        "time_to_first_token_ms": summarize([r.token_ms for r in ok if r.token_ms is not None]),
        "time_to_done_ms": summarize([r.done_ms for r in ok if r.done_ms is not None]),
        "harness_cpu_s": harness_cpu,
        "llm": delta,
        "llm_calls_per_turn": (delta["requests"] / len(ok)) if ok else None,
    }


# --------------------------------------------------------------------------- reporting


def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _ratio(f: float | None, b: float | None) -> str:
    if f is None or b is None or b == 0:
        return "-"
    return f"{f / b:.2f}x"


def render(results: dict[str, Any], names: list[str]) -> str:
    has_fd = "frontdesk" in names
    rows: list[tuple[str, dict | None, dict | None]] = []

    def pick(phase: dict, target: str, key: str) -> dict | None:
        return (phase.get(target) or {}).get(key) if phase else None

    ch = results.get("cache_hit", {})
    rows.append(
        (
            "cache hit, POST /chat (ms)",
            pick(ch, "baseline", "latency_ms"),
            pick(ch, "frontdesk", "latency_ms"),
        )
    )
    miss = results.get("miss", {})
    rows.append(
        (
            "miss: time to meta (ms)",
            pick(miss, "baseline", "time_to_meta_ms"),
            pick(miss, "frontdesk", "time_to_meta_ms"),
        )
    )
    rows.append(
        (
            "miss: time to first token (ms)",
            pick(miss, "baseline", "time_to_first_token_ms"),
            pick(miss, "frontdesk", "time_to_first_token_ms"),
        )
    )
    rows.append(
        (
            "miss: time to done (ms)",
            pick(miss, "baseline", "time_to_done_ms"),
            pick(miss, "frontdesk", "time_to_done_ms"),
        )
    )
    rows.append(
        (
            "miss: token events/s of one stream",
            pick(miss, "baseline", "token_events_per_s"),
            pick(miss, "frontdesk", "token_events_per_s"),
        )
    )
    for c, phase in sorted(results.get("load", {}).items(), key=lambda kv: int(kv[0])):
        rows.append(
            (
                f"c={c}: time to first token (ms)",
                (phase.get("baseline") or {}).get("time_to_first_token_ms"),
                (phase.get("frontdesk") or {}).get("time_to_first_token_ms"),
            )
        )
    burst = results.get("burst", {})
    for key, what in (("time_to_first_token_ms", "first token"), ("time_to_done_ms", "done")):
        if burst:
            rows.append(
                (
                    f"burst {burst['streams']}: time to {what} (ms)",
                    pick(burst, "baseline", key),
                    pick(burst, "frontdesk", key),
                )
            )

    header = [
        "figure",
        "baseline median",
        "baseline p99",
        "frontdesk median",
        "frontdesk p99",
        "ratio median (fd/base)",
        "ratio p99 (fd/base)",
    ]
    table = [header]
    for label, b, f in rows:
        b = b or {}
        f = f or {}
        table.append(
            [
                label,
                _fmt(b.get("median")),
                _fmt(b.get("p99")),
                _fmt(f.get("median")),
                _fmt(f.get("p99")),
                _ratio(f.get("median"), b.get("median")),
                _ratio(f.get("p99"), b.get("p99")),
            ]
        )

    load_table = [
        [
            "concurrency",
            "baseline turns/s",
            "baseline errors",
            "frontdesk turns/s",
            "frontdesk errors",
            "ratio turns/s (fd/base)",
        ]
    ]
    for c, phase in sorted(results.get("load", {}).items(), key=lambda kv: int(kv[0])):
        b = phase.get("baseline") or {}
        f = phase.get("frontdesk") or {}
        load_table.append(
            [
                str(c),
                _fmt(b.get("turns_per_s")),
                str((b.get("errors") or {}).get("total", "-")),
                _fmt(f.get("turns_per_s")),
                str((f.get("errors") or {}).get("total", "-")),
                _ratio(f.get("turns_per_s"), b.get("turns_per_s")),
            ]
        )

    def fmt_table(t: list[list[str]]) -> str:
        widths = [max(len(r[i]) for r in t) for i in range(len(t[0]))]
        lines = []
        for k, r in enumerate(t):
            lines.append(
                " | ".join(
                    cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                    for i, cell in enumerate(r)
                )
            )
            if k == 0:
                lines.append("-+-".join("-" * w for w in widths))
        return "\n".join(lines)

    burst_table = [
        [
            "burst",
            "baseline done",
            "baseline errors",
            "baseline wall s",
            "frontdesk done",
            "frontdesk errors",
            "frontdesk wall s",
        ]
    ]
    if burst:
        b = burst.get("baseline") or {}
        f = burst.get("frontdesk") or {}
        burst_table.append(
            [
                f"{burst['streams']} streams at once",
                str(b.get("turns", "-")),
                str((b.get("errors") or {}).get("total", "-")),
                _fmt(b.get("wall_s"), 2),
                str(f.get("turns", "-")),
                str((f.get("errors") or {}).get("total", "-")),
                _fmt(f.get("wall_s"), 2),
            ]
        )

    cpu_table = [["CPU ms per turn", "baseline", *SERVICES, "frontdesk total", "ratio"]]
    cpu_phases = [("miss, sequential", miss)] + [
        (f"c={c}", phase) for c, phase in sorted(results.get("load", {}).items())
    ]
    if burst:
        cpu_phases.append((f"burst {burst['streams']}", burst))
    for label, phase in cpu_phases:
        cpu = phase.get("cpu_ms_per_turn") or {}
        known = [cpu[s] for s in SERVICES if cpu.get(s) is not None]
        total = sum(known) if known else None
        cpu_table.append(
            [
                label,
                _fmt(cpu.get("baseline")),
                *(_fmt(cpu.get(s)) for s in SERVICES),
                _fmt(total),
                _ratio(total, cpu.get("baseline")),
            ]
        )

    parts = [fmt_table(table), "", fmt_table(load_table)]
    if burst:
        parts += ["", fmt_table(burst_table)]
    parts += ["", fmt_table(cpu_table)]
    stage_ms = miss.get("stage_ms") or {}
    if any(v is not None for v in stage_ms.values()):
        meta = ((miss.get("frontdesk") or {}).get("time_to_meta_ms") or {}).get("mean")
        known = [stage_ms[s] for s in SERIAL_STAGES if stage_ms.get(s) is not None]
        stage_table = [["stage, sequential misses", "mean ms"]]
        stage_table += [[s, _fmt(stage_ms.get(s), 2)] for s in STAGES]
        if meta is not None and known:
            stage_table.append(["rest (HTTP, admission, rendering)", _fmt(meta - sum(known), 2)])
            stage_table.append(["time to meta, client (mean)", _fmt(meta, 2)])
        parts += ["", fmt_table(stage_table)]
    notes = []
    if not has_fd:
        notes.append("(--baseline-only: Frontdesk not measured)")
    if has_fd and ch.get("llm_calls_during_phase"):
        notes.append(
            f"warning: {ch['llm_calls_during_phase']} LLM calls during the cache-hit phase "
            "(Frontdesk did not serve every repeat from cache)"
        )
    for c, phase in results.get("load", {}).items():
        cpt = (phase.get("frontdesk") or {}).get("llm_calls_per_turn")
        if cpt is not None:
            notes.append(f"c={c}: frontdesk made {cpt:.2f} LLM calls per completed turn")
    fd_rate = (pick(miss, "frontdesk", "token_events_per_s") or {}).get("median")
    if fd_rate is not None:
        notes.append(
            f"frontdesk sends {fd_rate:.1f} token events/s on one stream (median; "
            f"goal <= {TOKEN_EVENTS_GOAL_PER_S:.0f})"
        )
    for name in names:
        phase = burst.get(name) or {}
        wall = phase.get("wall_s")
        if wall and "harness_cpu_s" in phase and "fake_llm_cpu_s" in phase:
            notes.append(
                f"burst {name}: in {wall:.2f} s the harness used {phase['harness_cpu_s']:.2f} s "
                f"CPU ({phase['harness_cpu_s'] / wall:.0%} of one core), the fake LLM "
                f"{phase['fake_llm_cpu_s']:.2f} s ({phase['fake_llm_cpu_s'] / wall:.0%})"
            )
    queue_ms = (burst.get("stage_ms") or {}).get("orchestrator_queue")
    if queue_ms is not None:
        notes.append(
            f"burst frontdesk: a turn waited {queue_ms:.0f} ms on average for an orchestrator "
            "(stage orchestrator_queue)"
        )
    phases = [("cache hit", ch), ("miss", miss)] + [
        (f"c={c}", phase) for c, phase in results.get("load", {}).items()
    ]
    if burst:
        phases.append((f"burst {burst['streams']}", burst))
    for label, phase in phases:
        for name in names:
            errors = (phase.get(name) or {}).get("errors") or {}
            if errors.get("total"):
                notes.append(
                    f"{label} {name} errors by kind: {errors['by_kind']}; "
                    f"e.g. {errors['samples'][0]}"
                )
    if notes:
        parts += [""] + notes
    return "\n".join(parts)


# --------------------------------------------------------------------------- cleanup helpers


async def redis_delete_prefix(url: str, prefix: str) -> int:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    deleted = 0
    try:
        cursor = 0
        for _ in range(100_000):  # bounded SCAN
            cursor, keys = await client.scan(cursor=cursor, match=prefix + "*", count=1000)
            if keys:
                deleted += await client.delete(*keys)
            if cursor == 0:
                break
    finally:
        await client.aclose()
    return deleted


async def broker_delete_prefix(prefix: str) -> str:
    """Best effort: remove queues/exchanges named <prefix>... left by the stack."""
    ctl = shutil.which("rabbitmqctl")
    if not ctl:
        return "skipped (no rabbitmqctl to list names)"
    try:
        import aio_pika
    except ImportError:
        return "skipped (aio-pika not installed)"

    def names(kind: str) -> list[str]:
        try:
            out = subprocess.run(
                [ctl, "-q", kind, "name", "--no-table-headers"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [n.strip() for n in out.stdout.splitlines() if n.strip().startswith(prefix)]

    queues = await asyncio.to_thread(names, "list_queues")
    exchanges = await asyncio.to_thread(names, "list_exchanges")
    if not queues and not exchanges:
        return "nothing to delete"
    connection = await aio_pika.connect(RABBITMQ_URL, timeout=10)
    removed = 0
    try:
        for name in queues:
            ch = await connection.channel()
            try:
                await ch.queue_delete(name)
                removed += 1
            except Exception:  # noqa: BLE001 - best effort
                pass
            finally:
                if not ch.is_closed:
                    await ch.close()
        for name in exchanges:
            ch = await connection.channel()
            try:
                await ch.exchange_delete(name)
                removed += 1
            except Exception:  # noqa: BLE001 - best effort
                pass
            finally:
                if not ch.is_closed:
                    await ch.close()
    finally:
        await connection.close()
    return f"deleted {removed} of {len(queues) + len(exchanges)} ({len(queues)} queues, {len(exchanges)} exchanges)"


# --------------------------------------------------------------------------- main


def raise_open_files_limit(needed: int) -> None:
    """Lift this process's soft limit on open files (the children inherit it) towards
    ``needed``: a burst holds a socket per stream in the client, the server and upstream."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            print(f"warning: open-files limit {target} < {needed} wanted", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Frontdesk vs. baseline turn benchmark")
    p.add_argument(
        "--quick", action="store_true", help="small N, concurrency 20 only, 5 s load phases"
    )
    p.add_argument(
        "--baseline-only",
        action="store_true",
        help="measure only the baseline (no Frontdesk stack)",
    )
    p.add_argument(
        "--burst",
        type=int,
        default=None,
        metavar="N",
        help="streams opened at once against each target (default 500, quick: 100; 0 skips)",
    )
    p.add_argument(
        "--llm-tokens-per-second", type=float, default=50.0, help="fake LLM token rate (default 50)"
    )
    p.add_argument(
        "--llm-tokens", type=int, default=50, help="tokens per fake LLM answer (default 50)"
    )
    p.add_argument(
        "--tracing",
        action="store_true",
        help="run the stack with OpenTelemetry tracing on, exporting to bench/otlp_sink.py",
    )
    p.add_argument(
        "--keep-logs", action="store_true", help="keep the child processes' log directory"
    )
    p.add_argument(
        "--services-package",
        default="services",
        metavar="PKG",
        help="package holding the four services, run as `python -m PKG.<service>` "
        "(default: services; another value is only for testing the harness)",
    )
    return p.parse_args(argv)


async def run(
    args: argparse.Namespace, procs: ProcessGroup, run_info: dict[str, Any]
) -> dict[str, Any]:
    py = sys.executable
    quick = args.quick
    n_hit = 50 if quick else 200
    n_miss = 20 if quick else 100
    concurrencies = [20] if quick else [20, 50]
    duration = 5.0 if quick else 15.0
    n_burst = args.burst if args.burst is not None else 100 if quick else 500

    llm_port, base_port = free_port(), free_port()
    llm_url = f"http://{HOST}:{llm_port}"
    fake = procs.start(
        "fake_llm",
        [
            py,
            str(BENCH_DIR / "fake_llm.py"),
            "--host",
            HOST,
            "--port",
            str(llm_port),
            "--tokens-per-second",
            str(args.llm_tokens_per_second),
            "--tokens",
            str(args.llm_tokens),
        ],
    )
    baseline = procs.start(
        "baseline",
        [
            py,
            str(BENCH_DIR / "baseline_app.py"),
            "--host",
            HOST,
            "--port",
            str(base_port),
            "--llm-url",
            f"{llm_url}/v1",
            "--redis-url",
            BASELINE_REDIS_URL,
        ],
    )
    checks = [(fake, f"{llm_url}/v1/models"), (baseline, f"http://{HOST}:{base_port}/readyz")]

    stack_ports: dict[str, int] = {}
    tracing_env: dict[str, str] = {}
    if args.tracing:
        sink_port = free_port()
        sink = procs.start(
            "otlp_sink",
            [py, str(BENCH_DIR / "otlp_sink.py"), "--host", HOST, "--port", str(sink_port)],
        )
        checks.append((sink, f"http://{HOST}:{sink_port}/_stats"))
        tracing_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{HOST}:{sink_port}"
    run_info["tracing"] = bool(tracing_env)
    if not args.baseline_only:
        # Tracing is on only with --tracing, whatever this shell's OTEL_* variables say.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | tracing_env
        env.update(
            RABBITMQ_URL=RABBITMQ_URL,
            REDIS_URL=FRONTDESK_REDIS_URL,
            BROKER_PREFIX=run_info["broker_prefix"],
            REDIS_PREFIX=run_info["redis_prefix"],
            OPENAI_BASE_URL=f"{llm_url}/v1",
            OPENAI_API_KEY="fake",
            LLM_MODEL="fake",
            MAX_CONCURRENT_LLM_CALLS="10000",
            # The bare baseline streams unchecked, and the fake model writes no sentences to
            # check; the guard's own cost is measured by bench/grounding.py.
            GROUNDING_GUARD="off",
            API_KEY=API_KEY,
            # Counted (so their cost is measured) but never reached.
            RATE_LIMIT_PER_KEY="1000000000",
            RATE_LIMIT_PER_TENANT="1000000000",
            MAX_CONNECTIONS_PER_TENANT="1000000",
            MAX_CONNECTIONS_PER_KEY="1000000",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            KNOWLEDGE_DIR="sample",  # the shipping question is answered from the sample
        )
        for svc in SERVICES:
            port = free_port()
            stack_ports[svc] = port
            child = procs.start(
                svc, [py, "-m", f"{args.services_package}.{svc}", "--port", str(port)], env=env
            )
            checks.append((child, f"http://{HOST}:{port}/readyz"))
    run_info["ports"] = {"fake_llm": llm_port, "baseline": base_port, **stack_ports}

    await redis_delete_prefix(BASELINE_REDIS_URL, BASELINE_KEY_PREFIX)
    print(f"waiting for {len(checks)} processes to be ready ...", flush=True)
    try:
        await wait_ready(procs, checks)
    except RuntimeError as exc:
        print(f"\nERROR: {exc}\n\n{procs.tails()}", file=sys.stderr)
        raise SystemExit(2) from None

    # One pool per target, large enough that every stream of the burst has its connection.
    pool = max(200, n_burst)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    timeout = httpx.Timeout(TURN_TIMEOUT_S, connect=5.0)
    headers = {"X-API-Key": API_KEY}
    clients = []

    def make_target(name: str, url: str) -> Target:
        c = httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=timeout)
        clients.append(c)
        return Target(name, url, c)

    targets = [make_target("baseline", f"http://{HOST}:{base_port}")]
    if not args.baseline_only:
        targets.append(make_target("frontdesk", f"http://{HOST}:{stack_ports['gateway']}"))
    llm = httpx.AsyncClient(base_url=llm_url, timeout=5.0)
    clients.append(llm)

    def ensure_alive() -> None:
        dead = [c for c in procs.children if c.popen.poll() is not None]
        if dead:
            names = ", ".join(f"{c.name} (rc={c.popen.returncode})" for c in dead)
            print(
                f"\nERROR: process exited during the run: {names}\n\n{procs.tails()}",
                file=sys.stderr,
            )
            raise SystemExit(4)

    results: dict[str, Any] = {}
    try:
        # Smoke turn per target: a broken target aborts before minutes of error counting.
        for t in targets:
            r = await stream_turn(t, unique_message())
            if not r.ok:
                print(
                    f"\nERROR: smoke stream turn on {t.name} failed: {r.error_kind}: {r.error}\n\n"
                    f"{procs.tails()}",
                    file=sys.stderr,
                )
                raise SystemExit(3)

        print(f"cache hit: {n_hit} sequential POST /api/v1/chat per target ...", flush=True)
        results["cache_hit"] = await measure_cache_hit(targets, n_hit, llm)
        ensure_alive()
        print(
            f"cache miss: {n_miss} sequential POST /api/v1/chat/stream per target ...", flush=True
        )
        cpu_before = procs.cpu_seconds()
        ops = httpx.AsyncClient(headers=headers, timeout=5.0)
        clients.append(ops)
        stages_before = await stage_totals(ops, stack_ports)
        results["miss"] = await measure_miss(targets, n_miss, llm)
        results["miss"]["stage_ms"] = stage_means_ms(
            stages_before, await stage_totals(ops, stack_ports)
        )
        results["miss"]["cpu_ms_per_turn"] = cpu_ms_per_turn(
            cpu_before,
            procs.cpu_seconds(),
            {t.name: results["miss"][t.name]["time_to_done_ms"]["n"] for t in targets},
        )
        ensure_alive()
        results["load"] = {}
        for k, c in enumerate(concurrencies):
            phase: dict[str, Any] = {"cpu_ms_per_turn": {}}
            for t in ordered(targets, k):
                print(f"load: {t.name}, concurrency {c}, {duration:.0f} s ...", flush=True)
                await asyncio.sleep(1.0)  # let the previous phase's stragglers settle
                cpu_before = procs.cpu_seconds()
                phase[t.name] = await measure_load(t, c, duration, llm)
                phase["cpu_ms_per_turn"] |= cpu_ms_per_turn(
                    cpu_before, procs.cpu_seconds(), {t.name: phase[t.name]["turns"]}
                )
                ensure_alive()
            results["load"][str(c)] = phase
        if n_burst > 0:
            burst: dict[str, Any] = {"streams": n_burst, "cpu_ms_per_turn": {}}
            for t in ordered(targets, len(concurrencies)):
                print(f"burst: {t.name}, {n_burst} streams at once ...", flush=True)
                await asyncio.sleep(1.0)  # let the previous phase's stragglers settle
                cpu_before = procs.cpu_seconds()
                stages_before = await stage_totals(ops, stack_ports)
                burst[t.name] = await measure_burst(t, n_burst, llm)
                cpu_after = procs.cpu_seconds()
                burst["cpu_ms_per_turn"] |= cpu_ms_per_turn(
                    cpu_before, cpu_after, {t.name: burst[t.name]["turns"]}
                )
                # Shared by both targets, so not in the CPU table; a saturated fake shows here.
                burst[t.name]["fake_llm_cpu_s"] = cpu_after["fake_llm"] - cpu_before["fake_llm"]
                if t.name == "frontdesk":
                    burst["stage_ms"] = stage_means_ms(
                        stages_before, await stage_totals(ops, stack_ports)
                    )
                ensure_alive()
            results["burst"] = burst
        results["fake_llm_stats_total"] = await llm_stats(llm)
    finally:
        for c in clients:
            await c.aclose()

    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.burst is not None and args.burst < 0:
        print("--burst must be 0 or more", file=sys.stderr)
        return 2
    raise_open_files_limit(4 * (args.burst or 500) + 1024)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_info: dict[str, Any] = {
        "timestamp": stamp,
        "mode": "quick" if args.quick else "full",
        "baseline_only": args.baseline_only,
        "fake_llm": {"tokens_per_second": args.llm_tokens_per_second, "tokens": args.llm_tokens},
        "broker_prefix": f"bench-{uuid.uuid4().hex[:12]}",
        "redis_prefix": f"bench-{uuid.uuid4().hex[:12]}",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    log_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    procs = ProcessGroup(log_dir)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    rc = 0
    results: dict[str, Any] | None = None
    try:
        results = asyncio.run(run(args, procs, run_info))
    except KeyboardInterrupt:
        print("\ninterrupted; stopping child processes", file=sys.stderr)
        rc = 130
    except SystemExit as exc:
        rc = int(exc.code or 1)
    finally:
        # Don't let a second Ctrl-C abandon children half-stopped (every step below is bounded).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        procs.stop_all()
        try:
            cleanup = {
                "baseline_keys_deleted": asyncio.run(
                    redis_delete_prefix(BASELINE_REDIS_URL, BASELINE_KEY_PREFIX)
                )
            }
            if not args.baseline_only:
                cleanup["frontdesk_keys_deleted"] = asyncio.run(
                    redis_delete_prefix(FRONTDESK_REDIS_URL, run_info["redis_prefix"])
                )
                cleanup["broker"] = asyncio.run(broker_delete_prefix(run_info["broker_prefix"]))
            run_info["cleanup"] = cleanup
        except Exception as exc:  # noqa: BLE001 - cleanup is best effort
            run_info["cleanup"] = {"error": str(exc)}
        if rc == 0 and not args.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"child process logs: {log_dir}", file=sys.stderr)

    if results is None:
        return rc or 1
    names = ["baseline"] + ([] if args.baseline_only else ["frontdesk"])
    print()
    print(render(results, names))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_DIR / f"turns-{stamp}.json"
    out_path.write_text(json.dumps({"run": run_info, "results": results}, indent=2))
    print(f"\nresults written to {out_path.relative_to(REPO_ROOT)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
