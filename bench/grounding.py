"""The grounding guard against a real small model: the sample help centre's questions, asked
through the distributed stack.

    .venv/bin/python bench/grounding.py [--modes strict,flag] [--limit N] [--llm-url URL]

Starts SmolLM2-135M-Instruct in llama.cpp's OpenAI-compatible server (the virtualenv that
``make test-llm`` builds, or FRONTDESK_LLM_PYTHON) unless --llm-url names a running one. For each
GROUNDING_GUARD mode it starts a stack (gateway, orchestrator, retriever, escalation as
processes, on the machine's RabbitMQ and Redis), asks every question of
bench/data/retrieval_questions.jsonl through POST /api/v1/chat, and prints per mode and
language: answers sent, the guard's marks (verified, regenerated, flagged, replaced), and the
answers the customer received that state a figure absent from the passages they cite (read with
services/orchestrator/figures.py; in strict mode this must be 0). Answers are asked at
temperature 0 with at most 160 tokens. Writes bench/results/grounding-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from tables import table  # noqa: E402 - bench/ is the script's own folder

from tests.e2e.conftest import HEADERS, start_stack  # noqa: E402
from tests.support.help_centre import unsupported_figures  # noqa: E402
from tests.support.real_llm import running_real_llm, unavailable  # noqa: E402

QUESTIONS_FILE = BENCH_DIR / "data" / "retrieval_questions.jsonl"
RESULTS_DIR = BENCH_DIR / "results"
ANSWER_SETTINGS = {"temperature": 0.0, "max_tokens": 160}
MARKS = ("verified", "regenerated", "flagged", "replaced", "unchecked", None)


def ask_all(gateway: str, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every question through the stack; what the customer received and how it was marked."""
    records = []
    with httpx.Client(base_url=gateway, headers=HEADERS, timeout=300) as http:
        body = {"name": "Northwind", "llm": ANSWER_SETTINGS, "is_default": True}
        http.post("/api/v1/assistants", json=body).raise_for_status()
        for number, question in enumerate(questions, start=1):
            started = time.perf_counter()
            response = http.post("/api/v1/chat", json={"message": question["question"]})
            seconds = time.perf_counter() - started
            data = response.json().get("data", {}) if response.status_code == 200 else {}
            reply = response.json().get("reply", "") if response.status_code == 200 else ""
            cited = [r["chunk_id"] for r in data.get("references", [])]
            records.append(
                {
                    **question,
                    "status": response.status_code,
                    "intent": data.get("intent"),
                    "grounding": data.get("grounding"),
                    "reply": reply,
                    "unsupported_figures": unsupported_figures(reply, cited) if reply else [],
                    "seconds": round(seconds, 2),
                }
            )
            mark = records[-1]["grounding"]
            print(f"  [{number}/{len(questions)}] {question['lang']} {mark} {seconds:.1f}s", flush=True)
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of one mode's answers."""
    marks = Counter(r["grounding"] for r in records)
    return {
        "questions": len(records),
        "answers_sent": sum(r["status"] == 200 and bool(r["reply"]) for r in records),
        "generated": sum(r["grounding"] is not None for r in records),
        **{str(mark): marks.get(mark, 0) for mark in MARKS if mark is not None},
        "not_generated": marks.get(None, 0),
        "sent_with_unsupported_figure": sum(bool(r["unsupported_figures"]) for r in records),
        "median_seconds": sorted(r["seconds"] for r in records)[len(records) // 2],
    }


def run_mode(llm: str, mode: str, questions: list[dict[str, Any]], logs: Path) -> list[dict]:
    """One stack with GROUNDING_GUARD=``mode``, every question, then the stack is removed."""
    stack = start_stack(
        logs / mode,
        llm=llm,
        GROUNDING_GUARD=mode,
        LLM_MODEL="smollm2",
        LLM_TIMEOUT_SECONDS="120",
        TURN_TIMEOUT_SECONDS="240",
        LOG_LEVEL="WARNING",
    )
    try:
        return ask_all(stack.of("gateway")[0].url, questions)
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="strict,flag", help="GROUNDING_GUARD modes to run")
    parser.add_argument("--limit", type=int, help="ask only the first N questions")
    parser.add_argument("--llm-url", help="a running OpenAI-compatible server (without /v1)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS_FILE)
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    questions = questions[: args.limit] if args.limit else questions
    if not args.llm_url and (why := unavailable()):
        print(f"cannot start the model: {why}")
        return 2
    results: dict[str, Any] = {"started": time.strftime("%Y%m%d-%H%M%S"), "modes": {}}
    with tempfile.TemporaryDirectory(prefix="frontdesk-grounding-") as tmp:
        logs = Path(tmp)
        for mode in args.modes.split(","):
            (logs / mode).mkdir()
        server = (
            contextlib.nullcontext(args.llm_url) if args.llm_url else running_real_llm(logs)
        )
        with server as llm:
            for mode in args.modes.split(","):
                print(f"GROUNDING_GUARD={mode}: {len(questions)} questions", flush=True)
                records = run_mode(llm, mode, questions, logs)
                results["modes"][mode] = {
                    "summary": {
                        lang: summarise([r for r in records if lang == "all" or r["lang"] == lang])
                        for lang in ("all", "en", "zh")
                    },
                    "answers": records,
                }
    rows = [
        [mode, lang] + [s[k] for k in ("questions", "answers_sent", "generated", "verified",
                                        "regenerated", "flagged", "replaced",
                                        "sent_with_unsupported_figure", "median_seconds")]
        for mode, found in results["modes"].items()
        for lang, s in found["summary"].items()
    ]
    print()
    print(
        table(
            ["mode", "lang", "questions", "sent", "generated", "verified", "regenerated",
             "flagged", "replaced", "sent with a figure not in its passages", "median s"],
            rows,
        )
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"grounding-{results['started']}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nresults written to {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
