"""Intent-recognition benchmark: accuracy, confusions and latency of IntentRecogniser.

    .venv/bin/python bench/intents.py [--data PATH] [--repeat N] [--no-save]
    .venv/bin/python bench/intents.py --calibrate   # after editing the training data

Builds ``services.orchestrator.intents.IntentRecogniser()`` (it trains itself from
services/orchestrator/data/intent_training.jsonl), then classifies every message of the
labelled evaluation set bench/data/intents_eval.jsonl with
``recogniser.classify(text, emotion_score(text))``, exactly as the orchestrator does.

Prints overall and per-language accuracy, per-intent precision/recall/F1, a confusion
matrix, the share of decisions by source (rule / model), how often the model abstained (an
abstention is looked up in the knowledge base: it counts as knowledge_qa here, since no
knowledge base is searched), classify latency and the misclassified messages, and writes
bench/results/intents-<timestamp>.json.

--calibrate recomputes the model's temperature on held-out folds of the training data and
stores it in services/orchestrator/data/intent_calibration.json, which the orchestrator
reads at start-up (it would otherwise calibrate itself, in a few seconds, on every start).
Everything runs in this process; no network is used unless the recogniser itself uses it.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tables import table, width  # noqa: E402 - bench/ is the script's own folder

RESULTS_DIR = BENCH_DIR / "results"
EVAL_FILE = BENCH_DIR / "data" / "intents_eval.jsonl"
TRAINING_FILE = REPO_ROOT / "services" / "orchestrator" / "data" / "intent_training.jsonl"

# In the order the bot acts on them when a message carries several (first wins).
INTENTS = (
    "transfer_to_human",
    "ticket",
    "emotion_sensitive",
    "business_query",
    "knowledge_qa",
    "chitchat",
)
SHORT = {
    "transfer_to_human": "human",
    "ticket": "ticket",
    "emotion_sensitive": "emo",
    "business_query": "biz",
    "knowledge_qa": "kqa",
    "chitchat": "chat",
}
OTHER = "(other)"  # any predicted label outside INTENTS
LANGS = ("en", "zh")
SOURCES = ("rule", "model", "knowledge", "llm")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    intent: str
    lang: str
    note: str | None


def load_eval(path: Path) -> list[Item]:
    """The evaluation set; any malformed line stops the run with its line number."""
    items: list[Item] = []
    seen: set[str] = set()
    problems: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not JSON ({exc})")
            continue
        item_id, text, intent, lang = (raw.get(k) for k in ("id", "text", "intent", "lang"))
        if not isinstance(item_id, str) or not item_id:
            problems.append(f"line {n}: missing id")
        elif item_id in seen:
            problems.append(f"line {n}: duplicate id {item_id}")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"line {n}: missing text")
        if intent not in INTENTS:
            problems.append(f"line {n}: unknown intent {intent!r}")
        if lang not in LANGS:
            problems.append(f"line {n}: lang must be one of {LANGS}, not {lang!r}")
        if problems and problems[-1].startswith(f"line {n}:"):
            continue
        seen.add(item_id)
        items.append(Item(item_id, text, intent, lang, raw.get("note") or None))
    if problems:
        raise SystemExit(f"{path}: {len(problems)} bad line(s):\n  " + "\n  ".join(problems[:20]))
    if not items:
        raise SystemExit(f"{path}: no evaluation items")
    return items


def _normalise(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def training_overlap(items: Sequence[Item], path: Path) -> dict[str, Any]:
    """Training-set size per intent, and eval messages that also occur (normalised) in it."""
    if not path.exists():
        return {"file": str(path), "exists": False}
    per_intent: Counter[str] = Counter()
    texts: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            per_intent[row.get("intent", "?")] += 1
            texts.add(_normalise(row.get("text", "")))
    shared = [item.id for item in items if _normalise(item.text) in texts]
    return {
        "file": str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path),
        "exists": True,
        "lines": sum(per_intent.values()),
        "per_intent": dict(sorted(per_intent.items())),
        "eval_ids_also_in_training": shared,
    }


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); with fewer than 100 samples p99 is the max."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100.0 * len(ordered))) - 1]


def latency_summary(values_us: Sequence[float]) -> dict[str, Any]:
    if not values_us:
        return {"n": 0, "mean": None, "p50": None, "p99": None, "max": None}
    return {
        "n": len(values_us),
        "mean": round(statistics.fmean(values_us), 2),
        "p50": round(percentile(values_us, 50), 2),
        "p99": round(percentile(values_us, 99), 2),
        "max": round(max(values_us), 2),
    }


def prf(true: Sequence[str], pred: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for intent in INTENTS:
        tp = sum(t == intent and p == intent for t, p in zip(true, pred, strict=True))
        n_pred = sum(p == intent for p in pred)
        n_true = sum(t == intent for t in true)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[intent] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": n_true,
            "predicted": n_pred,
        }
    return out


def accuracy(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    correct = sum(t == p for t, p in pairs)
    return {
        "n": len(pairs),
        "correct": correct,
        "accuracy": round(correct / len(pairs), 4) if pairs else None,
    }


# --------------------------------------------------------------------------- printing


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=EVAL_FILE, help="evaluation JSONL")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="classify every message N times for the latency figures (default 1); "
        "predictions come from the first pass",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON result")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="recompute and store the model's calibration, then exit",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.calibrate:
        return calibrate()

    items = load_eval(args.data)
    started = time.strftime("%Y%m%d-%H%M%S")
    n_lang = Counter(item.lang for item in items)
    print(
        f"intent benchmark: {len(items)} messages "
        f"({', '.join(f'{lang} {n_lang[lang]}' for lang in LANGS)}), "
        f"{sum(item.note is not None for item in items)} with a note, from {args.data}"
    )
    training = training_overlap(items, TRAINING_FILE)
    if not training["exists"]:
        print(f"warning: training file {TRAINING_FILE} does not exist")
    elif training["eval_ids_also_in_training"]:
        print(
            f"warning: {len(training['eval_ids_also_in_training'])} evaluation message(s) also "
            f"occur in the training file: {', '.join(training['eval_ids_also_in_training'])}"
        )

    try:
        from services.orchestrator.emotion import emotion_score
        from services.orchestrator.intents import IntentRecogniser
    except ImportError as exc:
        print(f"cannot import the recogniser: {exc}", file=sys.stderr)
        print(
            "bench/intents.py needs services.orchestrator.intents.IntentRecogniser and "
            "services.orchestrator.emotion.emotion_score",
            file=sys.stderr,
        )
        return 2

    t0 = time.perf_counter()
    recogniser = IntentRecogniser()
    build_s = time.perf_counter() - t0
    print(f"IntentRecogniser() built in {build_s * 1000:.0f} ms")

    # Emotion scores are computed once, outside the timed classify call.
    for warm in ("hello", "你好"):  # first calls load the English and Chinese lexicons
        emotion_score(warm)
    emotion_us: list[float] = []
    emotions: list[float] = []
    for item in items:
        t = time.perf_counter_ns()
        emotions.append(emotion_score(item.text))
        emotion_us.append((time.perf_counter_ns() - t) / 1000)

    t = time.perf_counter_ns()
    recogniser.classify("hello", emotion_score("hello"))  # first call: lazy set-up, if any
    first_call_us = (time.perf_counter_ns() - t) / 1000

    rows: list[dict[str, Any]] = []
    latencies_us: list[float] = []
    latency_by_source: dict[str, list[float]] = {}
    unstable: list[str] = []
    anomalies: list[str] = []
    for rep in range(args.repeat):
        for i, item in enumerate(items):
            t = time.perf_counter_ns()
            result = recogniser.classify(item.text, emotions[i])
            elapsed_us = (time.perf_counter_ns() - t) / 1000
            intent = str(getattr(result, "intent", None))
            source = str(getattr(result, "source", None))
            confidence = getattr(result, "confidence", None)
            sure = bool(getattr(result, "sure", True))
            lean = getattr(result, "lean", None)
            latencies_us.append(elapsed_us)
            latency_by_source.setdefault(source, []).append(elapsed_us)
            if rep:
                if intent != rows[i]["predicted"] and item.id not in unstable:
                    unstable.append(item.id)
                continue
            if intent not in INTENTS:
                anomalies.append(f"{item.id}: unknown intent {intent!r}")
            if source not in SOURCES:
                anomalies.append(f"{item.id}: unknown source {source!r}")
            if not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
                anomalies.append(f"{item.id}: confidence {confidence!r} outside [0, 1]")
            rows.append(
                {
                    "id": item.id,
                    "lang": item.lang,
                    "text": item.text,
                    "true": item.intent,
                    "predicted": intent,
                    "confidence": round(float(confidence), 4)
                    if isinstance(confidence, int | float)
                    else None,
                    "source": source,
                    "sure": sure,
                    "lean": lean,
                    "emotion": emotions[i],
                    "correct": intent == item.intent,
                    "note": item.note,
                    "latency_us": round(elapsed_us, 2),
                }
            )

    results = evaluate(rows)
    results["latency_us"] = {
        "classify": latency_summary(latencies_us),
        "classify_by_source": {s: latency_summary(v) for s, v in sorted(latency_by_source.items())},
        "classify_first_call": round(first_call_us, 2),
        "emotion_score": latency_summary(emotion_us),
        "repeat": args.repeat,
    }
    results["build_seconds"] = round(build_s, 4)
    results["unstable_ids"] = unstable
    results["anomalies"] = anomalies
    report(results, rows)

    if not args.no_save:
        out = {
            "run": {
                "started": started,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "eval_file": str(args.data),
                "recogniser": f"{type(recogniser).__module__}.{type(recogniser).__qualname__}",
            },
            "training": training,
            **results,
            "items": rows,
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out_path = RESULTS_DIR / f"intents-{started}.json"
        out_path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        shown = out_path.relative_to(REPO_ROOT) if out_path.is_relative_to(REPO_ROOT) else out_path
        print(f"\nresults written to {shown}")
    return 0


def evaluate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    true = [r["true"] for r in rows]
    pred = [r["predicted"] for r in rows]
    labels = list(INTENTS) + ([OTHER] if any(p not in INTENTS for p in pred) else [])
    confusion = {t: dict.fromkeys(labels, 0) for t in INTENTS}
    for t, p in zip(true, pred, strict=True):
        confusion[t][p if p in INTENTS else OTHER] += 1
    per_intent = prf(true, pred)
    sources = Counter(r["source"] for r in rows)
    by_source = {
        s: {
            "n": n,
            "share": round(n / len(rows), 4),
            "accuracy": accuracy([(r["true"], r["predicted"]) for r in rows if r["source"] == s])[
                "accuracy"
            ],
        }
        for s, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))
    }
    abstained = [r for r in rows if not r["sure"]]
    conf_right = [r["confidence"] for r in rows if r["correct"] and r["confidence"] is not None]
    conf_wrong = [r["confidence"] for r in rows if not r["correct"] and r["confidence"] is not None]
    return {
        "overall": accuracy(list(zip(true, pred, strict=True))),
        "macro_f1": round(statistics.fmean(m["f1"] for m in per_intent.values()), 4),
        "by_lang": {
            lang: accuracy([(r["true"], r["predicted"]) for r in rows if r["lang"] == lang])
            for lang in LANGS
        },
        "mixed_vs_plain": {
            "with_note": accuracy([(r["true"], r["predicted"]) for r in rows if r["note"]]),
            "without_note": accuracy([(r["true"], r["predicted"]) for r in rows if not r["note"]]),
        },
        "per_intent": per_intent,
        "confusion": {"rows_true_columns_predicted": labels, "matrix": confusion},
        "by_source": by_source,
        "sure": accuracy([(r["true"], r["predicted"]) for r in rows if r["sure"]]),
        "abstained": {
            **accuracy([(r["true"], r["predicted"]) for r in abstained]),
            "lean_accuracy": accuracy([(r["true"], r["lean"]) for r in abstained])["accuracy"],
        },
        "mean_confidence": {
            "correct": round(statistics.fmean(conf_right), 4) if conf_right else None,
            "wrong": round(statistics.fmean(conf_wrong), 4) if conf_wrong else None,
        },
    }


def report(results: dict[str, Any], rows: Sequence[dict[str, Any]]) -> None:
    overall = results["overall"]
    print(
        f"\naccuracy {pct(overall['accuracy'])} ({overall['correct']}/{overall['n']}), "
        f"macro F1 {results['macro_f1']:.3f}"
    )
    lang_rows = [
        [lang, v["n"], v["correct"], pct(v["accuracy"])] for lang, v in results["by_lang"].items()
    ]
    mixed = results["mixed_vs_plain"]
    lang_rows += [
        [
            "with note (mixed/hard)",
            mixed["with_note"]["n"],
            mixed["with_note"]["correct"],
            pct(mixed["with_note"]["accuracy"]),
        ],
        [
            "without note",
            mixed["without_note"]["n"],
            mixed["without_note"]["correct"],
            pct(mixed["without_note"]["accuracy"]),
        ],
    ]
    print()
    print(table(["subset", "n", "correct", "accuracy"], lang_rows))

    print()
    print(
        table(
            ["intent", "precision", "recall", "F1", "support", "predicted"],
            [
                [
                    i,
                    f"{m['precision']:.3f}",
                    f"{m['recall']:.3f}",
                    f"{m['f1']:.3f}",
                    m["support"],
                    m["predicted"],
                ]
                for i, m in results["per_intent"].items()
            ],
        )
    )

    labels = results["confusion"]["rows_true_columns_predicted"]
    matrix = results["confusion"]["matrix"]
    print("\nconfusion matrix (rows = true, columns = predicted)")
    print(
        table(
            ["true \\ pred"] + [SHORT.get(label, "other") for label in labels],
            [[SHORT[t]] + [matrix[t][p] if matrix[t][p] else "." for p in labels] for t in INTENTS],
        )
    )
    print("  " + ", ".join(f"{SHORT[i]} = {i}" for i in INTENTS))

    print()
    print(
        table(
            ["source", "decisions", "share", "accuracy"],
            [
                [s, v["n"], pct(v["share"]), pct(v["accuracy"])]
                for s, v in results["by_source"].items()
            ],
        )
    )
    sure, abstained = results["sure"], results["abstained"]
    print(
        f"sure decisions: {sure['n']}, accuracy {pct(sure['accuracy'])}; "
        f"abstained (looked up, counted as knowledge_qa): {abstained['n']}, accuracy "
        f"{pct(abstained['accuracy'])}, the model's lean would be right "
        f"{pct(abstained['lean_accuracy'])}"
    )
    conf = results["mean_confidence"]
    if conf["correct"] is not None or conf["wrong"] is not None:
        print(
            "mean confidence: correct "
            + ("-" if conf["correct"] is None else f"{conf['correct']:.3f}")
            + ", wrong "
            + ("-" if conf["wrong"] is None else f"{conf['wrong']:.3f}")
        )

    lat = results["latency_us"]
    c, e = lat["classify"], lat["emotion_score"]
    print(
        f"\nclassify latency: mean {c['mean']:.1f} µs, p50 {c['p50']:.1f} µs, p99 {c['p99']:.1f} µs, "
        f"max {c['max']:.1f} µs over {c['n']} calls"
        + (f" ({lat['repeat']} passes)" if lat["repeat"] > 1 else "")
        + f"; first call {lat['classify_first_call']:.0f} µs"
    )
    if len(lat["classify_by_source"]) > 1:
        for s, v in lat["classify_by_source"].items():
            print(
                f"  {s}: mean {v['mean']:.1f} µs, p50 {v['p50']:.1f} µs, p99 {v['p99']:.1f} µs (n={v['n']})"
            )
    print(f"emotion_score (not included above): mean {e['mean']:.1f} µs, p50 {e['p50']:.1f} µs")
    print(f"IntentRecogniser() build: {results['build_seconds'] * 1000:.0f} ms")

    if results["unstable_ids"]:
        print(
            f"warning: predictions changed between passes for {', '.join(results['unstable_ids'])}"
        )
    if results["anomalies"]:
        print(f"warning: {len(results['anomalies'])} malformed result(s):")
        for a in results["anomalies"][:10]:
            print(f"  {a}")

    wrong = [r for r in rows if not r["correct"]]
    print(f"\nmisclassified: {len(wrong)}")
    if wrong:
        print(
            table(
                ["id", "lang", "true", "predicted", "conf", "source", "text"],
                [
                    [
                        r["id"],
                        r["lang"],
                        r["true"],
                        r["predicted"],
                        "-" if r["confidence"] is None else f"{r['confidence']:.2f}",
                        r["source"],
                        _clip(r["text"], 70),
                    ]
                    for r in wrong
                ],
                left=(0, 1, 2, 3, 5, 6),
            )
        )


def calibrate() -> int:
    """Recompute the model's temperature on held-out folds and store it with the data's hash."""
    from services.orchestrator.intent_model import cross_validated_temperature, fingerprint
    from services.orchestrator.intents import CALIBRATION_FILE, INTENTS

    rows = [json.loads(line) for line in TRAINING_FILE.read_text().splitlines() if line.strip()]
    t0 = time.perf_counter()
    temperature = cross_validated_temperature(
        INTENTS, [r["text"] for r in rows], [r["intent"] for r in rows]
    )
    stored = {"training_sha256": fingerprint(TRAINING_FILE), "temperature": round(temperature, 6)}
    CALIBRATION_FILE.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
    print(
        f"temperature {temperature:.4f} from {len(rows)} examples in "
        f"{time.perf_counter() - t0:.1f} s; written to {CALIBRATION_FILE.relative_to(REPO_ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
