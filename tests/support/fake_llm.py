"""Runs bench/fake_llm.py, the OpenAI-compatible fake model, as its own process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.stack import REPO, free_port


@contextlib.contextmanager
def running_fake_llm(log_dir: Path, tokens_per_second: float, tokens: int) -> Iterator[str]:
    """The fake model's base URL (without ``/v1``) while the block runs."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "bench/fake_llm.py",
            "--port",
            str(port),
            "--tokens-per-second",
            str(tokens_per_second),
            "--tokens",
            str(tokens),
        ],
        cwd=REPO,
        stdout=(log_dir / "fake_llm.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/v1/models", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def set_llm_mode(url: str, mode: str, **options: Any) -> None:
    """Switch the fake model: normal, error, stall, rate_limit, quote_history (its answer
    first repeats the conversation's earlier messages), wrong_figures (states "15 days" for
    standard shipping and "Cash" as a payment method) or quote_passage (cites passage [1]'s
    first sentence); ``count`` and ``then`` limit a mode to the next requests (see
    bench/fake_llm.py)."""
    httpx.post(f"{url}/_control", json={"mode": mode, **options}).raise_for_status()


def llm_stats(url: str) -> dict[str, Any]:
    """What the fake model has seen: requests, completed, cancelled, errors..."""
    return httpx.get(f"{url}/_stats").json()  # type: ignore[no-any-return]


def wait_for(predicate: Any, seconds: float = 15) -> bool:
    """Poll ``predicate`` until it is true or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
