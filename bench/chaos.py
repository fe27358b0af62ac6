"""Fault drills against the multi-process stack, printed as a table.

    .venv/bin/python bench/chaos.py [--quick] [--only NAME ...] [--keep-logs]

Starts a fake LLM, a Redis of its own (the machine's is shared and never restarted) and, for
the RabbitMQ drill, a RabbitMQ node of its own; then the stack as separate processes
(tests/support/stack.py), deployed the way a first deployment is: the gateway on a fresh
broker prefix before any worker. Drills, in order:

  fresh          the first chat of that deployment, sent before any worker exists (always
                 run: it is how the stack is deployed)
  sigterm        SIGTERM to one of two orchestrators, 20 turns of 15 s in flight
  sigterm-gateway  SIGTERM to the gateway, 20 streams of 15 s open
  kill-early     kill -9 of one of two orchestrators, the LLM's first token 4 s away
  kill-mid       kill -9 of one of two orchestrators mid-answer
  redis-reset    CLIENT KILL TYPE normal on Redis, turns in flight
  redis-restart  Redis stopped, down 1 s, started again, turns in flight
  rabbitmq       the RabbitMQ node restarted, turns in flight (a stack of its own)

Each row: how the turns in flight ended, how turns sent once it was answering again ended,
how long after the fault a new turn was first answered, and what the history holds. The
table is printed and written to bench/results/chaos-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import drills  # noqa: E402
from tests.support.drills import DrillResult  # noqa: E402
from tests.support.fake_llm import running_fake_llm  # noqa: E402
from tests.support.servers import OwnRabbitMQ, OwnRedis  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
RESULTS = Path(__file__).resolve().parent / "results"
DRILLS = (
    "sigterm",
    "sigterm-gateway",
    "kill-early",
    "kill-mid",
    "redis-reset",
    "redis-restart",
    "rabbitmq",
)


def _on_shared_broker(
    log_dir: Path, llm: str, redis: OwnRedis, names: list[str], in_flight: int, turn_s: float
) -> list[DrillResult]:
    stack = drills.start_drill_stack(log_dir, llm, RABBITMQ_URL, redis.url, workers=False)
    results: list[DrillResult] = []
    try:
        results.append(asyncio.run(drills.fresh_broker_drill(stack)))
        steps = {
            "sigterm": lambda: drills.sigterm_drill(stack, llm, in_flight, turn_s),
            "sigterm-gateway": lambda: drills.gateway_sigterm_drill(stack, llm, in_flight, turn_s),
            "kill-early": lambda: drills.kill_drill(stack, llm, in_flight, mid_answer=False),
            "kill-mid": lambda: drills.kill_drill(stack, llm, in_flight, mid_answer=True),
            "redis-reset": lambda: drills.redis_drill(stack, llm, redis, False, in_flight),
            "redis-restart": lambda: drills.redis_drill(stack, llm, redis, True, in_flight),
        }
        for name in names:
            if name in steps:
                drills.restore(stack, "orchestrator", 2)
                drills.restore(stack, "gateway", 1)
                results.append(asyncio.run(steps[name]()))
                print(drills.table(results[-1:]).splitlines()[-1], flush=True)
    finally:
        stack.stop()
    return results


def _on_own_broker(log_dir: Path, llm: str, redis: OwnRedis, in_flight: int) -> DrillResult:
    node = OwnRabbitMQ()
    try:
        node.start()
        stack: Stack = drills.start_drill_stack(log_dir, llm, node.url, redis.url)
        try:
            return asyncio.run(drills.rabbitmq_restart_drill(stack, llm, node, in_flight))
        finally:
            stack.stop()
    finally:
        node.stop()
        node.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 turns in flight, 6-s turns")
    parser.add_argument("--only", nargs="+", choices=DRILLS, default=list(DRILLS))
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = parser.parse_args()
    in_flight, turn_s = (8, 6.0) if args.quick else (20, 15.0)

    log_dir = Path(tempfile.mkdtemp(prefix="frontdesk-chaos-"))
    started = time.monotonic()
    results: list[DrillResult] = []
    redis = OwnRedis(log_dir)
    redis.start()
    failed = True
    try:
        with running_fake_llm(log_dir, 20, 10) as llm:
            results += _on_shared_broker(log_dir, llm, redis, args.only, in_flight, turn_s)
            if "rabbitmq" in args.only:
                results.append(_on_own_broker(log_dir, llm, redis, in_flight))
        failed = False
    finally:
        redis.stop()
        if args.keep_logs or failed:
            print(f"logs: {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)

    print(f"\n{len(results)} drills in {time.monotonic() - started:.0f}s\n")
    print(drills.table(results))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"chaos-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(drills.as_json(results))
    print(f"\nwritten to {out.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
