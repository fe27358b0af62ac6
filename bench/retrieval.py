"""Retrieval quality and search-latency benchmark for the embedded SqliteIndex.

    .venv/bin/python bench/retrieval.py [--quick]

1. Ingests the sample help centre (services/retriever/knowledge_base) into a temporary
   SqliteIndex with the default embedder (USE multilingual v3) and times it; reports the
   longest chunk in the model's tokens against its window.
2. Runs every labelled question of bench/data/retrieval_questions.jsonl in the lexical, vector
   and hybrid modes and reports hit@1, hit@3 and MRR@10, overall and per language, and how
   many searches the retriever calls a strong match.
3. Builds a 10,000-chunk knowledge base (quick: 2,000): the sample pages plus generated
   help-centre filler, embedded with the real model, and measures search latency p50/p99
   over 200 queries (quick: 50) per mode with no query cache.

Prints tables and writes bench/results/retrieval-<timestamp>.json. No network is used.
See bench/README.md ("Retrieval quality").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from tables import table  # noqa: E402 - bench/ is the script's own folder

from services.orchestrator.crosslingual import english_search_terms  # noqa: E402
from services.retriever.chunking import MAX_CHUNK_CHARS, Chunk, chunk_markdown  # noqa: E402
from services.retriever.embeddings import (  # noqa: E402
    LocalUseEmbedder,
    default_embedder,
    passage_vectors,
    vector_space,
)
from services.retriever.hybrid_search import HybridSearch  # noqa: E402
from services.retriever.index import ChunkRecord, Document, doc_id_for  # noqa: E402
from services.retriever.ingestion import Ingestor  # noqa: E402
from services.retriever.sqlite_index import SqliteIndex  # noqa: E402
from shared import segmentation  # noqa: E402
from shared.events.retrieval import MAX_ENGLISH_TERMS  # noqa: E402
from shared.text import sentences  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
QUESTIONS_FILE = BENCH_DIR / "data" / "retrieval_questions.jsonl"
SAMPLE_DIR = REPO_ROOT / "services" / "retriever" / "knowledge_base"

MODES = ("lexical", "vector", "hybrid")
LANGS = ("en", "zh")
KB_ID = "bench"
QUALITY_TENANT = "bench-quality"
LATENCY_TENANT = "bench-latency"
QUALITY_TOP_K = 3  # hit@1 / hit@3 are read from one search with top_k=3
MRR_DEPTH = 10  # MRR looks for the labelled page among the first 10 hits
LATENCY_TOP_K = 4  # RetrievalRequest.top_k when the published figures were taken (now 6)
EMBED_BATCH = 256  # texts per embed() call when building the large knowledge base


# --------------------------------------------------------------------------- helpers


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); with fewer than 100 samples p99 is the max."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100.0 * len(ordered))) - 1]


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 86 - len(text)))


# --------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    doc: str
    lang: str


def load_questions(path: Path, pages: set[str]) -> list[Question]:
    """The labelled questions; fails loudly on a malformed line or an unknown page."""
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        q = Question(str(row["id"]), str(row["question"]), str(row["doc"]), str(row["lang"]))
        if q.doc not in pages:
            raise SystemExit(f"{path}:{number}: {q.doc!r} is not a page of {SAMPLE_DIR}")
        if q.lang not in LANGS:
            raise SystemExit(f"{path}:{number}: lang must be one of {LANGS}")
        if q.id in seen:
            raise SystemExit(f"{path}:{number}: duplicate id {q.id}")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise SystemExit(f"{path}: no questions")
    return questions


# --------------------------------------------------------------------------- quality


def evaluate(search: HybridSearch, tenant: str, questions: list[Question], mode: str) -> list[dict]:
    """One record per question: top-3 page names, rank of the labelled page in the top 10."""
    records = []
    for q in questions:
        # What the orchestrator sends with a Chinese question (planning.py).
        english = english_search_terms(q.question, MAX_ENGLISH_TERMS)
        top = search.search(tenant, KB_ID, q.question, QUALITY_TOP_K, mode, english)  # type: ignore[arg-type]
        deep = search.search(tenant, KB_ID, q.question, MRR_DEPTH, mode, english)  # type: ignore[arg-type]
        top_docs = [h.chunk.doc_name for h in top.hits]
        deep_docs = [h.chunk.doc_name for h in deep.hits]
        rank = next((i + 1 for i, d in enumerate(deep_docs) if d == q.doc), None)
        records.append(
            {
                "id": q.id,
                "lang": q.lang,
                "doc": q.doc,
                "question": q.question,
                "top3": top_docs,
                "hit1": bool(top_docs) and top_docs[0] == q.doc,
                "hit3": q.doc in top_docs,
                "rank": rank,
                "hits": len(top_docs),
                "failed": list(top.failed + deep.failed),
                "strong": top.strong,
            }
        )
    return records


def summarise(records: list[dict]) -> dict[str, Any]:
    n = len(records)
    if not n:
        return {
            "n": 0,
            "hit1": None,
            "hit3": None,
            "mrr": None,
            "no_hits": 0,
            "wrong_top1": 0,
            "strong": 0,
        }
    return {
        "n": n,
        "hit1": sum(r["hit1"] for r in records) / n,
        "hit3": sum(r["hit3"] for r in records) / n,
        "mrr": sum(1.0 / r["rank"] for r in records if r["rank"]) / n,
        "no_hits": sum(1 for r in records if r["hits"] == 0),
        "wrong_top1": sum(1 for r in records if r["hits"] and not r["hit1"]),
        "strong": sum(1 for r in records if r["strong"]),
    }


# --------------------------------------------------------------------------- filler pages

_NAMES = (
    "Aero Banyan Cobalt Delta Ember Fjord Garnet Halo Indigo Juniper Kestrel Lumen Maple "
    "Nimbus Orbit Pico Quartz Ridge Sable Terra Umber Volta Willow Xenon Yarrow Zephyr"
).split()
# (English kind, model prefix, Chinese kind)
_KINDS = (
    ("power bank", "PB", "充电宝"),
    ("wireless earbuds", "EB", "无线耳机"),
    ("electric kettle", "KT", "电热水壶"),
    ("air fryer", "AF", "空气炸锅"),
    ("blender", "BL", "破壁机"),
    ("coffee maker", "CM", "咖啡机"),
    ("portable speaker", "SP", "便携音箱"),
    ("USB-C charger", "CH", "充电器"),
    ("desk lamp", "DL", "台灯"),
    ("travel adapter", "TA", "转换插头"),
    ("rice cooker", "RC", "电饭煲"),
    ("hand mixer", "HM", "打蛋器"),
    ("smart scale", "SC", "智能体重秤"),
    ("electric toothbrush", "TB", "电动牙刷"),
    ("charging cable", "CB", "数据线"),
    ("space heater", "SH", "取暖器"),
    ("bluetooth keyboard", "KB", "蓝牙键盘"),
    ("wireless charging pad", "WP", "无线充电板"),
)
_COLOURS = ("graphite", "sage green", "sand", "midnight blue", "coral", "white", "slate grey")
_COLOURS_ZH = ("石墨黑", "鼠尾草绿", "沙色", "午夜蓝", "珊瑚红", "白色", "岩灰色")
_SECTION_HEADINGS = (
    "Before you start",
    "Common problems",
    "Delivery times",
    "If something goes wrong",
    "Cleaning",
    "Charging",
    "What's in the box",
    "Compatibility",
    "Sending it back",
    "Cover and claims",
    "Paying for it",
    "Coupons and points",
    "Talking to us",
    "Error codes",
    "Storage",
    "Travelling with it",
    "Your account",
    "Invoices and receipts",
)
_ZH_HEADINGS = ("常见问题", "配送说明", "退换货", "保修服务", "使用与保养", "付款方式", "安全须知")
_EN_TEMPLATES = (
    "The {product} weighs {w} g and comes in {colour}.",
    "Model {model} replaced the older {old} in {year}; accessories for both are interchangeable.",
    "If the {product} shows error code E{e}, unplug it for {m} minutes and try again.",
    "Replacement {part} for the {product} cost {price} in the accessories shop.",
    "The {product} works with {compat} and needs firmware {fw} or later.",
    "Most customers set up the {product} in under {m} minutes using the quick-start card.",
    "Orders for the {product} placed during the {event} sale ship within {d} business days.",
    "The {product} is sold in the US, EU and mainland China stores.",
)
_ZH_TEMPLATES = (
    "{product}重{w}克，有{colour}可选。",
    "{product}显示错误代码E{e}时，请断电{m}分钟后重试。",
    "{product}的替换配件售价¥{yuan}，可在配件商城购买。",
    "活动期间购买{product}，{d}个工作日内发货。",
)
_PARTS = ("filters", "ear tips", "lids", "baskets", "blades", "cables", "brush heads", "jugs")
_COMPAT = ("USB-C PD chargers", "Qi wireless pads", "the Northwind app", "iOS and Android")
_EVENTS = ("Black Friday", "Singles' Day", "spring", "back-to-school", "anniversary")
_NOUNS = re.compile(
    r"\b(the item|an item|your item|the product|a product|your device|the device|the appliance)\b"
)
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class FillerSection:
    title: str
    text: str

    @property
    def embed_text(self) -> str:
        # What Ingestor embeds for a chunk: its heading path, a newline, its text.
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class _Source:
    """One section of a sample page, as sentences to recombine."""

    page: str  # the page's top heading
    heading: str  # the section's own heading
    en: tuple[str, ...]
    zh: tuple[str, ...]


class FillerGenerator:
    """Help-centre-like pages about invented products, recombined from the sample pages.

    A filler page follows one sample page (its title says so) and each of its sections
    follows one section of that page: mostly that section's sentences with other numbers and
    product names, some sentences from the page's other sections and product-specific ones.
    About one page in ten is Chinese, built from the sample pages' Chinese sections.
    """

    def __init__(self, sample_chunks: Sequence[Chunk], seed: int) -> None:
        self.rng = random.Random(seed)
        by_page: dict[str, list[_Source]] = {}
        for chunk in sample_chunks:
            en: list[str] = []
            zh: list[str] = []
            for s in sentences(chunk.text):
                cjk = sum(1 for ch in s if "\u4e00" <= ch <= "\u9fff")
                if cjk >= 8:
                    zh.append(s)
                elif cjk == 0 and len(s.split()) >= 5:
                    en.append(s)
            path = chunk.title.split(" > ")
            source = _Source(path[0], path[-1], tuple(en), tuple(zh))
            by_page.setdefault(chunk.doc_name, []).append(source)
        self.en_pages = [
            [src for src in sources if src.en]
            for sources in by_page.values()
            if any(src.en for src in sources)
        ]
        self.zh_sources = [src for sources in by_page.values() for src in sources if src.zh]
        if not self.en_pages or not self.zh_sources:
            raise SystemExit("the sample pages gave no sentences to build filler from")
        self._seen: set[str] = set()
        self._pages = 0

    def _number(self, match: re.Match[str]) -> str:
        digits = len(match.group())
        if digits == 1:
            return str(self.rng.randint(1, 9))
        return str(self.rng.randint(10 ** (digits - 1), 10**digits - 1))

    def _product(self) -> tuple[str, str, str, str]:
        name = self.rng.choice(_NAMES)
        kind, prefix, kind_zh = self.rng.choice(_KINDS)
        model = f"{prefix}-{self.rng.randint(100, 999)}"
        return f"{name} {kind} {model}", f"{name}{kind_zh}{model}", model, prefix

    def _en_sentence(self, product: str, sentence: str) -> str:
        s = _NUMBER.sub(self._number, sentence)
        if not s.endswith((".", "!", "?", ":", ")")):
            s += "."  # list items become sentences
        if self.rng.random() < 0.6:
            s = _NOUNS.sub(f"the {product}", s, count=1)
        return s

    def _template(self, product: str, model: str, prefix: str, which: int) -> str:
        r = self.rng
        return _EN_TEMPLATES[which].format(
            product=product,
            model=model,
            old=f"{prefix}-{r.randint(100, 999)}",
            year=r.randint(2018, 2024),
            w=r.randint(80, 4200),
            colour=r.choice(_COLOURS),
            e=r.randint(1, 99),
            m=r.randint(2, 30),
            part=r.choice(_PARTS),
            price=f"${r.randint(5, 60)}.{r.choice((0, 49, 99)):02d}",
            compat=r.choice(_COMPAT),
            fw=f"{r.randint(1, 5)}.{r.randint(0, 9)}.{r.randint(0, 20)}",
            d=r.randint(2, 6),
            event=r.choice(_EVENTS),
        )

    def page(self, max_sections: int) -> tuple[str, list[FillerSection], bool]:
        """One page: (unique file name, new sections, is Chinese); every embed text is new."""
        r = self.rng
        self._pages += 1
        product, product_zh, model, prefix = self._product()
        chinese = r.random() < 0.1
        if chinese:
            page_title = f"{product_zh}：{r.choice(_ZH_HEADINGS)}"
            slug = re.sub(r"[^A-Za-z0-9]+", "-", product_zh).strip("-") + "-zh"
        else:
            sources = r.choice(self.en_pages)
            page_title = f"{product}: {sources[0].page}"
            slug = re.sub(r"[^A-Za-z0-9]+", "-", page_title).strip("-")
        sections: list[FillerSection] = []
        for _ in range(r.randint(3, 8)):
            if len(sections) >= max_sections:
                break
            if chinese:
                section = self._zh_section(page_title, product_zh)
            else:
                section = self._en_section(page_title, sources, product, model, prefix)
            if section.embed_text not in self._seen:
                self._seen.add(section.embed_text)
                sections.append(section)
        return f"{self._pages:05d}-{slug}.md", sections, chinese

    def _compose(
        self, specific: list[str], shared: list[str], low: int, high: int, sep: str
    ) -> str:
        """About ``low``-``high`` characters, never more than a chunk holds: the first sentence,
        the section's other sentences in order (each kept with probability 0.8), then the
        sentences from elsewhere, until the length is reached."""
        r = self.rng
        target = r.randint(low, min(high, MAX_CHUNK_CHARS))
        own = [s for s in specific[1:] if r.random() < 0.8]
        candidates = own + shared
        parts: list[str] = [specific[0]] if specific else []
        size = sum(len(p) for p in parts)
        for candidate in candidates:
            if size >= target:
                break
            if size + len(sep) + len(candidate) <= MAX_CHUNK_CHARS:
                parts.append(candidate)
                size += len(sep) + len(candidate)
        return sep.join(parts)

    def _en_section(
        self, page_title: str, sources: list[_Source], product: str, model: str, prefix: str
    ) -> FillerSection:
        r = self.rng
        source = r.choice(sources)
        own = [self._en_sentence(product, s) for s in source.en]
        others = [s for src in sources if src is not source for s in src.en]
        r.shuffle(others)
        templates = [self._template(product, model, prefix, i) for i in range(len(_EN_TEMPLATES))]
        r.shuffle(templates)
        shared = [self._en_sentence(product, s) for s in others[:8]]
        for i in range(r.randint(1, 3)):
            shared.insert(r.randint(0, len(shared)), templates[i])
        own.insert(r.randint(0, len(own)), templates[-1])
        text = self._compose(own, shared, 250, 850, " ")
        heading = source.heading if r.random() < 0.7 else r.choice(_SECTION_HEADINGS)
        return FillerSection(f"{page_title} > {heading}", text)

    def _zh_section(self, page_title: str, product: str) -> FillerSection:
        r = self.rng
        source = r.choice(self.zh_sources)
        template = r.choice(_ZH_TEMPLATES).format(
            product=product,
            w=r.randint(80, 4200),
            colour=r.choice(_COLOURS_ZH),
            e=r.randint(1, 99),
            m=r.randint(2, 30),
            yuan=r.randint(15, 399),
            d=r.randint(2, 6),
        )
        own = [_NUMBER.sub(self._number, s) for s in source.zh]
        own.insert(r.randint(0, len(own)), template)
        others = [s for src in self.zh_sources if src is not source for s in src.zh]
        shared = [_NUMBER.sub(self._number, s) for s in r.sample(others, min(4, len(others)))]
        text = self._compose(own, shared, 120, 400, "\n")
        return FillerSection(f"{page_title} > {r.choice(_ZH_HEADINGS)}", text)


# --------------------------------------------------------------------------- large KB


def build_large_kb(
    index: SqliteIndex,
    embedder: LocalUseEmbedder,
    sample_chunks: Sequence[Chunk],
    filler_chunks: int,
    budget_s: float,
    seed: int,
) -> dict[str, Any]:
    """Adds ``filler_chunks`` generated chunks to LATENCY_TENANT; returns how it went.

    Pages are generated and embedded batch by batch. When embedding has taken ``budget_s``
    seconds, no new text is generated: the remaining chunks are regional copies of the pages
    already embedded (the same text, so the same vector is stored again).
    """
    gen = FillerGenerator(sample_chunks, seed)
    pages: list[tuple[str, list[FillerSection]]] = []
    vector_of: dict[str, np.ndarray] = {}
    chinese_pages = 0
    count = 0
    t0 = time.perf_counter()
    last_report = t0
    # Bounded: every round embeds at least one new text, or stops.
    for _ in range(filler_chunks + 1):
        elapsed = time.perf_counter() - t0
        if count >= filler_chunks or elapsed >= budget_s:
            break
        batch: list[FillerSection] = []
        for _ in range(EMBED_BATCH * 4):  # bounded; nearly every page adds a section
            if count >= filler_chunks or len(batch) >= EMBED_BATCH:
                break
            name, sections, chinese = gen.page(min(filler_chunks - count, 8))
            if sections:
                pages.append((name, sections))
                chinese_pages += chinese
                count += len(sections)
                batch.extend(sections)
        if not batch:
            raise SystemExit("the filler generator stopped producing new sections")
        # The vectors ingestion stores: title and text, leaning towards the title.
        rows = passage_vectors(embedder, [s.title for s in batch], [s.text for s in batch])
        for section, vector in zip(batch, rows, strict=True):
            vector_of[section.embed_text] = vector
        now = time.perf_counter()
        if now - last_report > 20 or count >= filler_chunks:
            rate = len(vector_of) / (now - t0)
            print(
                f"  embedded {len(vector_of)}/{filler_chunks} filler texts in {now - t0:.0f} s "
                f"({rate:.1f} chunks/s, {1000 / rate:.1f} ms/chunk)"
            )
            last_report = now
    embed_s = time.perf_counter() - t0
    embedded = len(vector_of)
    rate = embedded / embed_s
    if count < filler_chunks:
        print(
            f"the {budget_s:.0f} s embedding budget is spent after {embedded} unique filler texts "
            f"(embedding all {filler_chunks} would take about {filler_chunks / rate:.0f} s); "
            f"the other {filler_chunks - count} chunks are regional copies of those pages and "
            "reuse their vectors"
        )

    # Regional copies of whole pages (the last one cut short) to reach the chunk target.
    documents = list(pages)
    copies = 0
    regions = ("US store", "EU store", "CN store", "archive")
    for i in range(filler_chunks):  # bounded: each copy adds at least one chunk
        if count >= filler_chunks:
            break
        name, sections = pages[i % len(pages)]
        generation = i // len(pages)
        extra = sections[: filler_chunks - count]
        label = f"{regions[generation % len(regions)]} copy {generation + 1}"
        documents.append((f"{name[:-3]} ({label}).md", extra))
        copies += len(extra)
        count += len(extra)

    t1 = time.perf_counter()
    for name, sections in documents:
        doc_id = doc_id_for(KB_ID, name)
        chunks = [
            ChunkRecord(LATENCY_TENANT, KB_ID, doc_id, name, f"{doc_id}-{i}", i, s.title, s.text)
            for i, s in enumerate(sections)
        ]
        digest = hashlib.sha256("\n".join(s.embed_text for s in sections).encode()).hexdigest()
        document = Document(doc_id, name, digest, len(chunks), time.time())
        rows = np.vstack([vector_of[s.embed_text] for s in sections])
        index.replace_document(
            LATENCY_TENANT, KB_ID, document, chunks, rows, vector_space(embedder)
        )
    insert_s = time.perf_counter() - t1
    lengths = [len(s.text) for _, secs in pages for s in secs]
    return {
        "filler_chunks": filler_chunks,
        "filler_documents": len(documents),
        "chinese_filler_pages": chinese_pages,
        "unique_filler_texts_embedded": embedded,
        "duplicate_chunks_reusing_vectors": copies,
        "filler_chunk_chars_mean": statistics.fmean(lengths),
        "filler_chunk_chars_max": max(lengths),
        "embedding_seconds": embed_s,
        "embedding_chunks_per_second": rate,
        "estimated_seconds_to_embed_all": filler_chunks / rate,
        "insert_seconds": insert_s,
        "insert_chunks_per_second": filler_chunks / insert_s if insert_s else None,
        "embed_budget_seconds": budget_s,
    }


def measure_latency(
    search: HybridSearch, embedder: LocalUseEmbedder, queries: list[str]
) -> dict[str, Any]:
    """Per-query wall time of search() for each mode, modes interleaved, plus embedding alone."""
    timings: dict[str, list[float]] = {m: [] for m in MODES}
    timings["embed only"] = []
    empty: dict[str, int] = {m: 0 for m in MODES}
    runners: dict[str, Callable[[str], int]] = {
        m: (lambda q, m=m: len(search.search(LATENCY_TENANT, KB_ID, q, LATENCY_TOP_K, m).hits))  # type: ignore[misc]
        for m in MODES
    }
    runners["embed only"] = lambda q: len(embedder.embed([q]))
    names = list(runners)
    for i, query in enumerate(queries):
        # Rotate the order so no mode always runs right after another (cache effects).
        for name in names[i % len(names) :] + names[: i % len(names)]:
            t0 = time.perf_counter()
            found = runners[name](query)
            timings[name].append((time.perf_counter() - t0) * 1000)
            if name in empty and not found:
                empty[name] += 1
    out: dict[str, Any] = {}
    for name, values in timings.items():
        out[name] = {
            "n": len(values),
            "p50_ms": percentile(values, 50),
            "p99_ms": percentile(values, 99),
            "mean_ms": statistics.fmean(values),
            "max_ms": max(values),
            "empty_results": empty.get(name),
            "samples_ms": [round(v, 3) for v in values],
        }
    return out


# --------------------------------------------------------------------------- main


def git_state() -> dict[str, Any]:
    """The commit, and whether the retriever code differs from it (results depend on it)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "services/retriever", "shared/text.py"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "retriever_changes_not_committed": None}
    return {
        "git_commit": commit or None,
        "retriever_changes_not_committed": [line[3:] for line in changed if line.strip()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 chunks and 50 queries")
    parser.add_argument("--chunks", type=int, help="chunks in the latency knowledge base")
    parser.add_argument("--queries", type=int, help="latency queries per mode")
    parser.add_argument(
        "--embed-budget",
        type=float,
        default=240.0,
        help="seconds allowed for embedding filler (default 240); beyond it vectors are reused",
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS_FILE)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    target_chunks = args.chunks or (2_000 if args.quick else 10_000)
    n_queries = args.queries or (50 if args.quick else 200)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    page_files = sorted(p for p in SAMPLE_DIR.glob("*.md") if p.is_file())
    questions = load_questions(args.questions, {p.name for p in page_files})
    started = time.strftime("%Y%m%d-%H%M%S")
    print(
        f"retrieval benchmark: {len(questions)} questions "
        f"({', '.join(f'{lang} {sum(q.lang == lang for q in questions)}' for lang in LANGS)}), "
        f"{len(page_files)} sample pages, latency KB {target_chunks} chunks, {n_queries} queries"
    )

    results: dict[str, Any] = {
        "run": {
            "started": started,
            "quick": args.quick,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "questions_file": str(args.questions.resolve().relative_to(REPO_ROOT))
            if args.questions.resolve().is_relative_to(REPO_ROOT)
            else str(args.questions),
            "seed": args.seed,
            "max_chunk_chars": MAX_CHUNK_CHARS,
            **git_state(),
        }
    }

    with tempfile.TemporaryDirectory(prefix="frontdesk-retrieval-") as tmp:
        index = SqliteIndex(Path(tmp))
        try:
            run(index, args, questions, page_files, target_chunks, n_queries, results)
        finally:
            index.close()

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_DIR / f"retrieval-{started}.json"
    out_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nresults written to {out_path.relative_to(REPO_ROOT)}")
    return 0


def run(
    index: SqliteIndex,
    args: argparse.Namespace,
    questions: list[Question],
    page_files: list[Path],
    target_chunks: int,
    n_queries: int,
    results: dict[str, Any],
) -> None:
    # ---- 1. ingest the sample pages
    embedder = default_embedder()
    results["run"]["embedding_model"] = embedder.model_id
    t0 = time.perf_counter()
    embedder.embed(["model warm-up"])  # loads the model; not part of ingestion time
    embedder.count_tokens("tokenizer warm-up")
    segmentation.warm_up()  # jieba's dictionary (about a second)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingested = Ingestor(index, embedder).sync_directory(QUALITY_TENANT, KB_ID, SAMPLE_DIR)
    ingest_s = time.perf_counter() - t0
    sample_chunks = sum(r.document.chunk_count for r in ingested)
    longest = max(
        embedder.count_tokens(f"{c.title}\n{c.text}")
        for r in ingested
        for c in index.chunks(QUALITY_TENANT, KB_ID, r.document.doc_id)
    )
    ingestion = {
        "documents": len(ingested),
        "chunks": sample_chunks,
        "seconds": ingest_s,
        "documents_per_second": len(ingested) / ingest_s,
        "chunks_per_second": sample_chunks / ingest_s,
        "model_load_seconds": load_s,
        "longest_chunk_tokens": longest,
        "model_window_tokens": embedder.max_tokens,
    }
    results["ingestion"] = ingestion
    heading("Ingestion of the sample knowledge base (parse, chunk, embed, store)")
    print(
        table(
            [
                "documents",
                "chunks",
                "seconds",
                "docs/s",
                "chunks/s",
                "model load s",
                "longest chunk / window (tokens)",
            ],
            [
                [
                    len(ingested),
                    sample_chunks,
                    fmt(ingest_s, 2),
                    fmt(ingestion["documents_per_second"], 2),
                    fmt(ingestion["chunks_per_second"], 1),
                    fmt(load_s, 2),
                    f"{longest} / {embedder.max_tokens}",
                ]
            ],
        )
    )

    # ---- 2. quality
    search = HybridSearch(index, embedder)
    quality: dict[str, Any] = {}
    records: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    for mode in MODES:
        records[mode] = evaluate(search, QUALITY_TENANT, questions, mode)
        quality[mode] = {"all": summarise(records[mode])}
        for lang in LANGS:
            quality[mode][lang] = summarise([r for r in records[mode] if r["lang"] == lang])
    results["quality"] = {
        "top_k": QUALITY_TOP_K,
        "mrr_depth": MRR_DEPTH,
        "summary": quality,
        "questions": records,
        "seconds": time.perf_counter() - t0,
    }
    heading(f"Retrieval quality on the sample pages ({len(questions)} labelled questions)")
    rows = []
    for mode in MODES:
        for group in ("all", *LANGS):
            s = quality[mode][group]
            rows.append(
                [
                    f"{mode} / {group}",
                    s["n"],
                    fmt(s["hit1"]),
                    fmt(s["hit3"]),
                    fmt(s["mrr"]),
                    s["no_hits"],
                    s["wrong_top1"],
                    s["strong"],
                ]
            )
    print(
        table(
            [
                "mode / questions",
                "n",
                "hit@1",
                "hit@3",
                "MRR@10",
                "no hits",
                "wrong top-1",
                "strong",
            ],
            rows,
        )
    )

    print("\nhit@3 by labelled page (en+zh):")
    rows = []
    for page in sorted({q.doc for q in questions}):
        row: list[Any] = [page]
        for mode in MODES:
            mine = [r for r in records[mode] if r["doc"] == page]
            row.append(f"{sum(r['hit3'] for r in mine)}/{len(mine)}")
        rows.append(row)
    print(table(["page", *MODES], rows))

    misses = [r for r in records["hybrid"] if not r["hit3"]]
    by_id = {mode: {r["id"]: r for r in records[mode]} for mode in ("lexical", "vector")}

    def first(record: dict) -> str:
        return record["top3"][0].removesuffix(".md") if record["top3"] else "(none)"

    print(
        f"\nhybrid misses at hit@3 ({len(misses)}): rank = labelled page's rank in the hybrid "
        "top 10; top-1 = first page returned by hybrid / lexical / vector alone"
    )
    rows = [
        [
            r["id"],
            r["lang"],
            r["doc"].removesuffix(".md"),
            r["rank"] or "-",
            first(r),
            first(by_id["lexical"][r["id"]]),
            first(by_id["vector"][r["id"]]),
            r["question"],
        ]
        for r in misses
    ]
    print(
        table(
            [
                "id",
                "lang",
                "labelled page",
                "rank",
                "hybrid top-1",
                "lexical",
                "vector",
                "question",
            ],
            rows,
            left=(0, 1, 2, 4, 5, 6, 7),
        )
    )

    # ---- 3. latency on a large knowledge base
    heading(f"Building the latency knowledge base ({target_chunks} chunks)")
    t0 = time.perf_counter()
    Ingestor(index, embedder).sync_directory(LATENCY_TENANT, KB_ID, SAMPLE_DIR)
    print(
        f"sample pages: {sample_chunks} chunks in {time.perf_counter() - t0:.2f} s (cached vectors)"
    )
    filler_chunks = target_chunks - sample_chunks
    if filler_chunks < 0:
        raise SystemExit(f"--chunks must be at least {sample_chunks}")
    plain = LocalUseEmbedder()  # its own copy, so nothing below is served from a cache
    plain.embed(["model warm-up"])
    source_chunks = [
        c for p in page_files for c in chunk_markdown(p.name, p.read_text(encoding="utf-8"))
    ]
    build = build_large_kb(index, plain, source_chunks, filler_chunks, args.embed_budget, args.seed)
    stored = sum(d.chunk_count for d in index.documents(LATENCY_TENANT, KB_ID))
    if stored != target_chunks:
        raise SystemExit(f"the latency knowledge base holds {stored} chunks, not {target_chunks}")
    build["total_chunks"] = target_chunks
    build["sample_chunks"] = sample_chunks
    results["large_kb"] = build
    print(
        table(
            [
                "total chunks",
                "filler docs",
                "zh pages",
                "embedded",
                "reused vectors",
                "embed s",
                "embed chunks/s",
                "insert s",
                "insert chunks/s",
            ],
            [
                [
                    target_chunks,
                    build["filler_documents"],
                    build["chinese_filler_pages"],
                    build["unique_filler_texts_embedded"],
                    build["duplicate_chunks_reusing_vectors"],
                    fmt(build["embedding_seconds"], 1),
                    fmt(build["embedding_chunks_per_second"], 1),
                    fmt(build["insert_seconds"], 1),
                    fmt(build["insert_chunks_per_second"], 0),
                ]
            ],
        )
    )
    if build["duplicate_chunks_reusing_vectors"]:
        print(
            f"note: {build['duplicate_chunks_reusing_vectors']} of {filler_chunks} filler chunks "
            "are copies whose vectors were reused, not recomputed (embedding all would take "
            f"about {build['estimated_seconds_to_embed_all']:.0f} s)"
        )

    latency_search = HybridSearch(index, plain, query_cache_entries=0)  # every query embedded
    t0 = time.perf_counter()
    latency_search.search(
        LATENCY_TENANT, KB_ID, "warm up the vector matrix", LATENCY_TOP_K, "vector"
    )
    cold_s = time.perf_counter() - t0
    for mode in MODES:
        latency_search.search(LATENCY_TENANT, KB_ID, "warm-up question", LATENCY_TOP_K, mode)  # type: ignore[arg-type]
    queries = [questions[i % len(questions)].question for i in range(n_queries)]
    latency = measure_latency(latency_search, plain, queries)
    results["latency"] = {
        "top_k": LATENCY_TOP_K,
        "queries": n_queries,
        "cold_first_vector_query_seconds": cold_s,
        "by_mode": latency,
    }
    heading(
        f"Search latency, {target_chunks} chunks, {n_queries} queries per mode (top_k={LATENCY_TOP_K})"
    )
    rows = [
        [
            name,
            v["n"],
            fmt(v["p50_ms"], 2),
            fmt(v["p99_ms"], 2),
            fmt(v["mean_ms"], 2),
            fmt(v["max_ms"], 2),
            "-" if v["empty_results"] is None else v["empty_results"],
        ]
        for name, v in latency.items()
    ]
    print(table(["mode", "n", "p50 ms", "p99 ms", "mean ms", "max ms", "empty"], rows))
    print(
        f"first vector query after the build (loads {target_chunks} vectors from SQLite): "
        f"{cold_s * 1000:.0f} ms\nempty = searches that returned no hit (relevance filters); "
        "p99 is nearest-rank (the max below 100 samples)"
    )


if __name__ == "__main__":
    sys.exit(main())
