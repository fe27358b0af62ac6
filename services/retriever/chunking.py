"""Turns Markdown help-centre pages into chunks that follow the headings."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Possessive ``\s++``/``\s*+``: a line of spaces is read once, not once per split of it.
_HEADING = re.compile(r"^(#{1,6})\s++(.*\S)\s*$")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_TABLE_RULE = re.compile(r"^\s*+\|?\s*+:?-{2,}")
MAX_CHUNK_CHARS = 900  # longer chunks blur their vector and their snippet
MAX_HEADING_CHARS = 200  # a heading goes into every title below it: keep it bounded


@dataclass(frozen=True)
class Chunk:
    """A searchable piece of a document with its heading path."""

    doc_name: str
    title: str
    text: str
    position: int


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def clean_markdown(text: str) -> str:
    """Plain prose from Markdown: no emphasis marks, table rows as "Header: value" sentences."""
    lines: list[str] = []
    header: list[str] | None = None
    for line in _EMPHASIS.sub("", text).splitlines():
        if line.lstrip().startswith("|"):
            if _TABLE_RULE.match(line):
                continue
            if header is None:
                header = _cells(line)
                continue
            pairs = zip(header, _cells(line), strict=False)
            lines.append("; ".join(f"{h}: {c}" for h, c in pairs if c) + ".")
        else:
            header = None
            lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class TokenBudget:
    """The embedder's measure of a text, and how many of its tokens one chunk may hold."""

    count: Callable[[str], int]
    limit: int


# Where a too-long text may be cut, coarsest first, with what rejoins its pieces: paragraphs,
# lines (a PDF page is one paragraph of lines), sentences, then clauses and words.
_BREAKS = (
    (re.compile(r"\n[^\S\n]*+\n"), "\n\n"),
    (re.compile(r"\n"), "\n"),
    (re.compile(r"(?<=[.!?;。！？；])\s*"), " "),
    (re.compile(r"(?<=[,，、:：])\s*|\s+"), " "),
)


class _Fitter:
    """Cuts text into pieces that each fit one chunk, then packs them greedily into chunks.

    Linear: only texts of at most MAX_CHUNK_CHARS are ever tokenised, a piece is counted
    once, and a packed chunk is checked once (its count is estimated as the sum of its
    pieces' counts, which the check corrects if the estimate fell short).
    """

    def __init__(self, budget: TokenBudget | None, limit: int | None) -> None:
        self.budget = budget
        self.limit = limit

    def tokens(self, text: str) -> int | None:
        """Its tokens; None when it cannot fit (too many characters or tokens)."""
        if len(text) > MAX_CHUNK_CHARS:
            return None
        if self.budget is None or self.limit is None:
            return 0
        count = self.budget.count(text)
        return count if count <= self.limit else None

    def pieces(self, text: str, level: int = 0) -> list[tuple[str, str, int]]:
        """(piece, separator before it, tokens) for pieces that each fit, in order."""
        tokens = self.tokens(text)
        if tokens is not None:
            return [(text, "", tokens)]
        if level == len(_BREAKS):
            return [(part, "", n) for part, n in self._by_characters(text)]
        pattern, separator = _BREAKS[level]
        parts = [part.strip() for part in pattern.split(text) if part.strip()]
        out: list[tuple[str, str, int]] = []
        for part in parts if len(parts) > 1 else [text]:
            for i, (piece, inner, n) in enumerate(self.pieces(part, level + 1)):
                out.append((piece, inner if i else separator, n))
        return out

    def _by_characters(self, text: str) -> list[tuple[str, int]]:
        # One "word" longer than a chunk: a run of CJK without punctuation, a long URL.
        size = min(MAX_CHUNK_CHARS, self.limit or MAX_CHUNK_CHARS)
        out: list[tuple[str, int]] = []
        start = 0
        while start < len(text):
            tokens = self.tokens(text[start : start + size])
            while tokens is None and size > 1:  # at most log2(900) halvings in all
                size //= 2
                tokens = self.tokens(text[start : start + size])
            out.append((text[start : start + size], tokens or 0))
            start += size
        return out

    def pack(self, text: str) -> list[str]:
        """Whole pieces joined in order into as few chunks as fit."""
        chunks: list[str] = []
        group: list[tuple[str, str, int]] = []
        chars = tokens = 0
        for piece in self.pieces(text.strip()):
            extra = len(piece[1] or " ") + len(piece[0])
            if group and (
                chars + extra > MAX_CHUNK_CHARS
                or (self.limit is not None and tokens + piece[2] + 1 > self.limit)
            ):
                chunks.extend(self._close(group))
                group, chars, tokens = [], 0, 0
            group.append(piece)
            chars += extra
            tokens += piece[2] + 1
        if group:
            chunks.extend(self._close(group))
        return chunks

    def _close(self, group: list[tuple[str, str, int]]) -> list[str]:
        """The group as one chunk, or split again where the estimate fell short."""
        text = self._join(group)
        if len(group) == 1 or self.tokens(text) is not None:
            return [text]
        half = len(group) // 2
        return self._close(group[:half]) + self._close(group[half:])

    @staticmethod
    def _join(group: list[tuple[str, str, int]]) -> str:
        return "".join(
            (sep or " ") + piece if i else piece for i, (piece, sep, _) in enumerate(group)
        )


def _fit_title(title: str, budget: TokenBudget) -> tuple[str, int]:
    """The title, shortened if it alone would take over a quarter of a chunk's tokens, and
    the tokens left for the text (the embedder reads "title\ntext")."""
    title = title[:MAX_CHUNK_CHARS]  # so that counting a runaway heading stays cheap
    while len(title) > 8 and budget.count(title) > budget.limit // 4:
        title = title[: len(title) // 2].rstrip() + "…"
    return title, budget.limit - budget.count(title + "\n")


def chunk_markdown(doc_name: str, markdown: str) -> list[Chunk]:
    """One chunk per section, split where a section is longer than MAX_CHUNK_CHARS; the
    title is the path of headings above it. ``fit_chunks`` then fits them to an embedder."""
    path: list[str] = []
    sections: list[tuple[str, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = clean_markdown("\n".join(body)).strip()
        if text:
            sections.append((" > ".join(path) or doc_name, text))
        body.clear()

    for line in markdown.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            del path[level - 1 :]
            path.extend([""] * (level - 1 - len(path)))
            path.append(heading.group(2)[:MAX_HEADING_CHARS])
            path[:] = [p for p in path if p]
        else:
            body.append(line)
    flush()

    chunks: list[Chunk] = []
    for title, text in sections:
        for piece in _Fitter(None, None).pack(text):
            chunks.append(Chunk(doc_name, title, piece, len(chunks)))
    return chunks


def fit_chunks(chunks: Sequence[Chunk], budget: TokenBudget) -> list[Chunk]:
    """The chunks, each cut again where it exceeds the embedder's window, renumbered.

    Separate from ``chunk_markdown`` because documents are parsed in a child process that
    does not load the model; a chunk that already fits is kept as it is.
    """
    # Long documents repeat themselves (boilerplate, copied sections): count each text once.
    budget = TokenBudget(functools.lru_cache(maxsize=4096)(budget.count), budget.limit)
    fitted: list[Chunk] = []
    for chunk in chunks:
        title, limit = _fit_title(chunk.title, budget)
        for piece in _Fitter(budget, limit).pack(chunk.text):
            fitted.append(Chunk(chunk.doc_name, title, piece, len(fitted)))
    return fitted


def load_directory(directory: Path) -> list[Chunk]:
    """Chunks of every Markdown or text file in ``directory``, in name order."""
    chunks: list[Chunk] = []
    for path in sorted(directory.glob("*")):
        if path.suffix.lower() in {".md", ".markdown", ".txt"} and path.is_file():
            chunks.extend(chunk_markdown(path.name, path.read_text(encoding="utf-8")))
    return chunks
