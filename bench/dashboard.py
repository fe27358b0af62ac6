"""The Grafana dashboard's panels as PNG files, from a real Prometheus over a stack under load.

    .venv/bin/python bench/dashboard.py [--seconds 120]

Grafana cannot run here, so this draws what it would show: it starts the multi-process
stack (with the fake LLM), a Prometheus with the shipped rules (tests/support/prometheus.py),
drives a mix of customers for ``--seconds`` (new questions, repeated ones that hit the cache,
hand-offs, and a burst past the rate limit), then plots every panel of
deploy/grafana/frontdesk-dashboard.json from Prometheus's query_range API into
artifacts/dashboard/ (not committed). The panels' 5-minute rate windows are shortened to
--window (30 s), or a two-minute run would show little but their ramp. Needs RabbitMQ, Redis, Debian's prometheus and
prometheus-redis-exporter, RabbitMQ's Prometheus plugin, and matplotlib.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fake_llm import running_fake_llm  # noqa: E402
from tests.support.prometheus import dashboard_panels, running_prometheus  # noqa: E402
from tests.support.services import RABBITMQ_URL, REDIS_URL, unique_prefix  # noqa: E402
from tests.support.stack import Stack, stack_env  # noqa: E402

API_KEY = "dashboard-bench-key-0123456789"
OUT = REPO / "artifacts/dashboard"
QUESTIONS = (
    "How long does standard shipping take?",
    "What payment methods do you accept?",
    "How do I reset my password?",
    "退货政策是什么",
)
HAND_OFF = "I want to talk to a human agent"
RATE_LIMIT_PER_TENANT = 240  # a minute: the closing burst goes past it


async def _customer(client: httpx.AsyncClient, until: float, n: int) -> None:
    """One customer at a time: new questions streamed, repeats, now and then a hand-off."""
    turn = 0
    while time.monotonic() < until:
        turn += 1
        if turn % 9 == 0:
            response = await client.post("/api/v1/chat", json={"message": HAND_OFF})
        elif turn % 3 == 0:
            response = await client.post("/api/v1/chat", json={"message": QUESTIONS[turn % 4]})
        else:
            body = {"message": f"{QUESTIONS[(turn + n) % 4]} (ref {uuid.uuid4().hex[:6]})"}
            async with client.stream("POST", "/api/v1/chat/stream", json=body) as response:
                await response.aread()
        if response.status_code == 429:  # as a polite client does
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def _drive(url: str, seconds: float, customers: int) -> None:
    limits = httpx.Limits(max_connections=customers * 4)
    headers = {"X-API-Key": API_KEY}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=60, limits=limits
    ) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_customer(client, until, n) for n in range(customers)))
        # Past the tenant's limit at once: the 429 panel has something to show.
        await asyncio.gather(
            *(client.post("/api/v1/chat", json={"message": QUESTIONS[0]}) for _ in range(300))
        )


def _series(url: str, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    params = {"query": expr, "start": start, "end": end, "step": 5}
    answer = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30).json()
    if answer["status"] != "success":
        raise RuntimeError(f"{expr}: {answer}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def _render(url: str, prefix: str, window: str, start: float, end: float) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for panel in dashboard_panels(prefix):
        figure, axes = plt.subplots(figsize=(10, 3.4))
        lines = 0
        for target in panel["targets"]:
            expr = target["expr"].replace("[5m]", f"[{window}]").replace("[15m]", f"[{window}]")
            for series in _series(url, expr, start, end):
                points = [(float(t) - start, float(v)) for t, v in series["values"]]
                axes.plot(
                    *zip(*points, strict=True),
                    label=_legend(target["legendFormat"], series["metric"]),
                )
                lines += 1
        unit = panel["fieldConfig"]["defaults"]["unit"]
        axes.set_title(panel["title"] + ("" if lines else "  (no data)"))
        axes.set_xlabel("seconds into the run")
        axes.set_ylabel(unit)
        if lines:  # beside the plot: a dozen queues would cover it
            axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        figure.tight_layout()
        path = (
            OUT / f"{panel['id']:02d}-{re.sub(r'[^a-z0-9]+', '-', panel['title'].lower())[:40]}.png"
        )
        figure.savefig(path, dpi=90)
        plt.close(figure)
        written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="load phase (default 120)")
    parser.add_argument("--customers", type=int, default=4, help="at once (default 4)")
    parser.add_argument("--window", default="30s", help="rate window of the plots (default 30s)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="frontdesk-dashboard-"))
    with running_fake_llm(work, tokens_per_second=50, tokens=30) as llm:
        env = stack_env(
            RABBITMQ_URL=RABBITMQ_URL,
            REDIS_URL=REDIS_URL,
            BROKER_PREFIX=unique_prefix("dashboard"),
            REDIS_PREFIX=unique_prefix("dashboard"),
            API_KEY=API_KEY,
            INDEX_DIR=str(work / "index"),
            OPENAI_BASE_URL=f"{llm}/v1",
            OPENAI_API_KEY="fake",
            LLM_MODEL="fake",
            GROUNDING_GUARD="off",
            RATE_LIMIT_PER_KEY="0",
            RATE_LIMIT_PER_TENANT=str(RATE_LIMIT_PER_TENANT),
            LOG_LEVEL="WARNING",
        )
        stack = Stack(env=env, log_dir=work)
        try:
            for service in ("gateway", "orchestrator", "retriever", "escalation"):
                stack.start(service)
            stack.wait_ready()
            with running_prometheus(stack, work, API_KEY) as prometheus:
                start = time.time()
                print(f"driving {args.customers} customers for {args.seconds:.0f} s ...")
                asyncio.run(_drive(stack.of("gateway")[0].url, args.seconds, args.customers))
                time.sleep(5)  # the last scrapes
                prefix = env["BROKER_PREFIX"]
                for path in _render(prometheus, prefix, args.window, start, time.time()):
                    print(path.relative_to(REPO))
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
