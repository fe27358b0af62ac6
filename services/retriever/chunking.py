"""Turns Markdown help-centre pages into chunks that follow the headings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Possessive ``\s++``/``\s*+``: a line of spaces is read once, not once per split of it.
_HEADING = re.compile(r"^(#{1,6})\s++(.*\S)\s*$")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_TABLE_RULE = re.compile(r"^\s*+\|?\s*+:?-{2,}")
MAX_CHUNK_CHARS = 900  # about 256 MiniLM tokens: longer chunks lose their tails
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


def _bounded(paragraph: str) -> list[str]:
    """A paragraph in pieces of at most MAX_CHUNK_CHARS, cut at a space where there is one."""
    pieces, start = [], 0
    while len(paragraph) - start > MAX_CHUNK_CHARS:
        cut = paragraph.rfind(" ", start + 1, start + MAX_CHUNK_CHARS)
        cut = cut if cut > start else start + MAX_CHUNK_CHARS
        pieces.append(paragraph[start:cut])
        start = cut + 1 if paragraph[cut] == " " else cut
    return [*pieces, paragraph[start:]]


def _split_long(text: str) -> list[str]:
    """Split an oversized section on paragraph boundaries (a huge paragraph on spaces)."""
    pieces: list[str] = []
    current = ""
    for paragraph in (p for block in text.split("\n\n") for p in _bounded(block)):
        if current and len(current) + len(paragraph) > MAX_CHUNK_CHARS:
            pieces.append(current.strip())
            current = ""
        current += paragraph + "\n\n"
    if current.strip():
        pieces.append(current.strip())
    return pieces


def chunk_markdown(doc_name: str, markdown: str) -> list[Chunk]:
    """One chunk per section; the title is the path of headings above it."""
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
        for piece in _split_long(text):
            chunks.append(Chunk(doc_name, title, piece, len(chunks)))
    return chunks


def load_directory(directory: Path) -> list[Chunk]:
    """Chunks of every Markdown or text file in ``directory``, in name order."""
    chunks: list[Chunk] = []
    for path in sorted(directory.glob("*")):
        if path.suffix.lower() in {".md", ".markdown", ".txt"} and path.is_file():
            chunks.extend(chunk_markdown(path.name, path.read_text(encoding="utf-8")))
    return chunks
