"""Answer quality end to end: the right route, the right page, a reply that states the fact.

    .venv/bin/python bench/quality.py                  # embedded app in-process, both splits
    .venv/bin/python bench/quality.py --split heldout  # held-out items only (what CI runs)
    .venv/bin/python bench/quality.py --stack          # the distributed stack as processes

Each knowledge base is ingested through the product's own path (the knowledge API in
embedded mode, ``frontdesk ingest`` against the stack) and every question is asked through
``POST /api/v1/chat`` in a new session: intent, retrieval and answer as a customer gets them.
Figures per data set, split and language: routing accuracy, hit@1, hit@3 and MRR of the
cited pages, and the share of replies that state the fact. Prints tables and writes
artifacts/quality.json. See bench/README.md ("Answer quality").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.quality_data import DATASETS, KNOWLEDGE_BASES, Case, load_cases  # noqa: E402
from bench.quality_scoring import HIT_DEPTH, score, summarise  # noqa: E402
from bench.quality_targets import EmbeddedTarget, Llm, StackTarget, Target  # noqa: E402
from bench.tables import table  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "artifacts" / "quality.json"
SPLITS = {"heldout": ("heldout",), "tuning": ("tuning",), "both": ("heldout", "tuning")}
HIT = f"hit@{HIT_DEPTH}"
# Issue 11's "Must show", checked on the held-out figures.
GOALS = (
    ("helpcentre", "en", "all", 0.90),
    ("helpcentre", "zh", "all", 0.90),
    ("faq", "en", "routed", 0.95),
    ("faq", "en", HIT, 0.90),
)


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _ask_all(target: Target, kb: str, cases: Sequence[Case], concurrency: int) -> list[dict]:
    """Ask every case; the scored items, in the cases' order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> dict:
        async with gate:
            started = time.perf_counter()
            status, body = await target.ask(kb, case.question)
            return score(case, status, body, time.perf_counter() - started)

    return list(await asyncio.gather(*map(one, cases)))


async def measure(
    target: Target, cases: Sequence[Case], concurrency: int, log: Callable[[str], None]
) -> tuple[list[dict], dict[str, Any]]:
    """Ingest each knowledge base the cases need, then ask its cases; items and timings."""
    items: list[dict] = []
    timings: dict[str, Any] = {}
    for kb in dict.fromkeys(DATASETS[c.dataset].kb for c in cases):
        asked = [c for c in cases if DATASETS[c.dataset].kb == kb]
        started = time.perf_counter()
        pages = await target.ingest(kb, KNOWLEDGE_BASES[kb]())
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        items += await _ask_all(target, kb, asked, concurrency)
        ask_s = time.perf_counter() - started
        timings[kb] = {"pages": pages, "ingest_s": round(ingest_s, 1), "questions": len(asked)}
        timings[kb]["ask_s"] = round(ask_s, 1)
        log(
            f"  {kb}: {pages} pages ingested in {ingest_s:.1f} s, "
            f"{len(asked)} questions in {ask_s:.1f} s"
        )
    return items, timings


def goals(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each goal of the issue against its held-out figure (None when not measured)."""
    found = {(g["dataset"], g["lang"]): g for g in groups if g["split"] == "heldout"}
    out = []
    for dataset, lang, figure, target in GOALS:
        value = found.get((dataset, lang), {}).get(figure)
        met = None if value is None else value >= target
        out.append(
            {
                "dataset": dataset,
                "lang": lang,
                "figure": figure,
                "goal": target,
                "value": value,
                "met": met,
            }
        )
    return out


def _git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        return {
            "git_commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain")),
        }
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "dirty": None}


async def run(
    mode: str = "embedded",
    datasets: Sequence[str] = tuple(DATASETS),
    splits: Sequence[str] = SPLITS["both"],
    concurrency: int = 4,
    llm: Llm | None = None,
    orchestrators: int = 1,
    log: Callable[[str], None] = _stderr,
) -> dict[str, Any]:
    """Measure and return the result document (what --out writes)."""
    cases = load_cases(datasets, splits)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
        workdir = Path(tmp)
        target: Any = (
            StackTarget(workdir, llm, orchestrators)
            if mode == "stack"
            else EmbeddedTarget(workdir, llm)
        )
        log(f"quality: {len(cases)} questions through the {mode} app")
        async with target:
            items, timings = await measure(target, cases, concurrency, log)
    groups = summarise(items)
    return {
        "run": {
            "mode": mode,
            "datasets": list(datasets),
            "splits": list(splits),
            "llm": None if llm is None else {"base_url": llm.base_url, "model": llm.model},
            "concurrency": concurrency,
            "seconds": round(time.perf_counter() - started, 1),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            **_git_commit(),
        },
        "timings": timings,
        "groups": groups,
        "goals": goals(groups),
        "items": items,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def figures_table(groups: Sequence[dict[str, Any]]) -> str:
    """One row per data set, split and language; shares in %, MRR as a fraction."""
    rows = [
        [
            DATASETS[g["dataset"]].title,
            g["split"],
            g["lang"],
            g["n"],
            _pct(g["routed"]),
            _pct(g["hit@1"]),
            _pct(g[HIT]),
            "-" if g["mrr"] is None else f"{g['mrr']:.3f}",
            _pct(g["fact"]),
            _pct(g["all"]),
            g["errors"],
        ]
        for g in sorted(
            groups, key=lambda g: (g["split"] != "heldout", list(DATASETS).index(g["dataset"]))
        )
    ]
    headers = [
        "data set",
        "split",
        "lang",
        "n",
        "routed %",
        "hit@1 %",
        f"{HIT} %",
        "MRR",
        "fact %",
        "all 3 %",
        "errors",
    ]
    return table(headers, rows, left=(0, 1, 2))


def report(result: dict[str, Any], show_misses: int) -> str:
    """The printed report: figures, wrong routes, goals and a sample of misses."""
    lines = [figures_table(result["groups"]), ""]
    lines.append("Wrong routes (held-out): intent given -> count")
    for g in result["groups"]:
        if g["split"] == "heldout" and g["wrong_routes"]:
            routes = ", ".join(f"{k} {v}" for k, v in sorted(g["wrong_routes"].items()))
            lines.append(f"  {g['dataset']} {g['lang']}: {routes}")
    lines += ["", "Goals (issue 11, held-out split):"]
    for goal in result["goals"]:
        state = {True: "met", False: "NOT met", None: "not measured"}[goal["met"]]
        lines.append(
            f"  {goal['dataset']} {goal['lang']} {goal['figure']} >= "
            f"{100 * goal['goal']:.0f}%: {_pct(goal['value'])}% {state}"
        )
    if show_misses:
        lines += [
            "",
            f"Misses (first {show_misses} per data set; "
            "held-out help-centre questions are never printed):",
        ]
        for dataset in result["run"]["datasets"]:
            misses = [
                i
                for i in result["items"]
                if i["dataset"] == dataset
                and not (
                    i["routed"]
                    and (i["doc"] is None or (i["rank"] or 99) <= HIT_DEPTH)
                    and i["fact"] is not False
                )
            ][:show_misses]
            for i in misses:
                text = "" if i["question"] is None else f"  {i['question'][:90]}"
                lines.append(
                    f"  {i['id']:24s} {i['lang']} {str(i['intent']):18s} "
                    f"rank {i['rank'] or '-'} fact {i['fact']}{text}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--embedded",
        dest="mode",
        action="store_const",
        const="embedded",
        help="the embedded app in this process (default)",
    )
    where.add_argument(
        "--stack",
        dest="mode",
        action="store_const",
        const="stack",
        help="gateway, orchestrator, retriever, escalation as processes",
    )
    parser.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        help=f"comma-separated, of {', '.join(DATASETS)} (default: all)",
    )
    parser.add_argument("--split", choices=SPLITS, default="both")
    parser.add_argument("--concurrency", type=int, default=4, help="questions in flight")
    parser.add_argument("--orchestrators", type=int, default=1, help="stack mode only")
    parser.add_argument("--llm-base-url", default="", help="an OpenAI-compatible /v1 URL")
    parser.add_argument("--llm-model", default="local")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--show-misses", type=int, default=10)
    args = parser.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s): {', '.join(unknown)}")
    llm = Llm(args.llm_base_url, args.llm_model) if args.llm_base_url else None
    result = asyncio.run(
        run(
            args.mode or "embedded",
            datasets,
            SPLITS[args.split],
            max(1, args.concurrency),
            llm,
            max(1, args.orchestrators),
        )
    )
    print(report(result, args.show_misses))
    if not args.no_save:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
