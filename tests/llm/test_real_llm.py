"""The LLM path against a real small model (SmolLM2-135M, llama.cpp's OpenAI-compatible
server): the prompt, streaming, stop, and the grounding guard, on the distributed stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from services.orchestrator.generation import HISTORY_CHAR_BUDGET, build_prompt, recent_history
from shared.conversation import Message
from shared.llm import OpenAIChatModel
from shared.settings import Settings
from tests.llm.conftest import patient_client, references
from tests.support.fake_llm import wait_for
from tests.support.help_centre import by_chunk_id, unsupported_figures
from tests.support.real_llm import CONTEXT_TOKENS
from tests.support.sse import stream_events
from tests.support.stack import Stack

# Help-centre questions whose answers are figures: what a small model gets wrong.
QUESTIONS = [
    "How long does standard shipping take?",
    "What payment methods do you accept?",
    "How much is express shipping?",
    "How long do I have to return something?",
    "How long is the password reset link valid?",
    "How much do I need to spend for free shipping?",
    "What are your support hours?",
    "How long does a warranty repair take?",
]


async def test_the_longest_prompt_fits_the_window_and_is_answered(real_llm: str) -> None:
    longest = sorted(by_chunk_id().values(), key=lambda p: len(p.text))[-4:]
    # Earlier turns at the full history budget, in words like the customers' and answers'.
    said = [p.text for p in by_chunk_id().values()]
    history = [Message("user" if i % 2 else "assistant", said[i]) for i in range(len(said))]
    window = recent_history(history)
    assert sum(len(m["content"]) for m in window) <= HISTORY_CHAR_BUDGET
    prompt = build_prompt("How long does standard shipping take?", longest, window)
    async with httpx.AsyncClient(timeout=300) as http:
        sent = {"model": "smollm2", "messages": prompt, "max_tokens": 8}
        raw = (await http.post(f"{real_llm}/v1/chat/completions", json=sent)).json()
    assert raw["usage"]["prompt_tokens"] + 160 < CONTEXT_TOKENS  # room for the answer
    settings = Settings(openai_base_url=f"{real_llm}/v1", openai_api_key="local")
    pieces = [p async for p in OpenAIChatModel(settings).stream(prompt, max_tokens=16)]
    assert len(pieces) > 1 and "".join(pieces).strip()  # streamed, in several pieces


def _said(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["content"] for name, d in events if name == "token")


def test_an_answer_streams_through_the_stack_checked(strict_stack: Stack) -> None:
    with patient_client(strict_stack) as http:
        _, events = stream_events(
            http, {"message": "How much does express shipping cost in the EU?"}
        )
    names = [name for name, _ in events]
    assert names[0] == "meta" and "token" in names and names[-2:] == ["done", "metrics"]
    done = next(d for name, d in events if name == "done")
    assert done["answer"] == _said(events) and done["answer"].strip()
    assert done["grounding"] in ("verified", "regenerated", "replaced")
    assert unsupported_figures(done["answer"], references(events)) == []


def test_stop_cancels_the_model_call(flag_stack: Stack, real_llm_logs: Path) -> None:
    log = real_llm_logs / "llama_server.log"
    answering = log.read_text().count('"POST /v1/chat/completions HTTP/1.1" 200')
    disconnects = log.read_text().count("Disconnected from client")
    with patient_client(flag_stack) as http:
        question = {"message": "How long does standard shipping take? Please explain in detail."}
        with http.stream("POST", "/api/v1/chat/stream", json=question) as response:
            turn_id = response.headers["x-turn-id"]
            lines = response.iter_lines()
            # Stop once the model is writing: its server has begun its streamed response.
            for line in lines:
                started = log.read_text().count('"POST /v1/chat/completions HTTP/1.1" 200')
                if line.startswith("event: token") and started > answering:
                    break
            assert http.post(f"/api/v1/turns/{turn_id}/stop").status_code == 202
            rest = list(lines)
    done = json.loads(next(r for r in rest if r.startswith("data:") and '"stopped"' in r)[5:])
    assert done["stopped"] is True and done["answer"]
    # The model server saw its client go away: the generation was cancelled, not finished.
    assert wait_for(lambda: log.read_text().count("Disconnected from client") > disconnects, 60)


def _ask(http: httpx.Client, question: str) -> tuple[str, str | None, list[str]]:
    """The answer the customer received, its grounding mark, and the passages it cited."""
    body = http.post("/api/v1/chat", json={"message": question}).json()
    cited = [r["chunk_id"] for r in body["data"]["references"]]
    return body["reply"], body["data"]["grounding"], cited


def test_strict_never_sends_a_figure_its_passages_lack(strict_stack: Stack) -> None:
    marks: dict[str | None, int] = {}
    with patient_client(strict_stack) as http:
        for question in QUESTIONS:
            answer, mark, cited = _ask(http, question)
            marks[mark] = marks.get(mark, 0) + 1
            assert unsupported_figures(answer, cited) == [], (question, answer)
            assert mark in ("verified", "regenerated", "replaced"), (question, mark)
    print(f"strict: {marks}")


def test_flag_marks_every_answer_that_states_an_unsupported_figure(flag_stack: Stack) -> None:
    flagged_with_figures = 0
    with patient_client(flag_stack) as http:
        for question in QUESTIONS:
            answer, mark, cited = _ask(http, question)
            if unsupported_figures(answer, cited):
                assert mark == "flagged", (question, answer)
                flagged_with_figures += 1
            assert mark in ("verified", "flagged"), (question, mark)
    print(f"flag: {flagged_with_figures} of {len(QUESTIONS)} answers stated an unsupported figure")
