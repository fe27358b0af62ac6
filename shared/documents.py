"""Which files a knowledge base takes: checked where they arrive (gateway, CLI) and where
they are parsed (retriever), so a file no retriever could read is refused at once."""

from __future__ import annotations

from pathlib import PurePath

from shared.errors import InvalidInput

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
MIB = 1024 * 1024
MAX_DOCUMENT_BYTES = 20 * MIB


class UnsupportedDocument(InvalidInput):
    """The file's type cannot be ingested."""


def document_format(name: str) -> str:
    """The format implied by a file name; UnsupportedDocument for anything else."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in FORMATS:
        supported = ", ".join(sorted(FORMATS))
        raise UnsupportedDocument(f"{name}: unsupported file type (supported: {supported})")
    return FORMATS[suffix]


def check_document(name: str, content: bytes) -> str:
    """The file's format, or InvalidInput for what no parser would take: its type, its size."""
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"{name}: larger than {MAX_DOCUMENT_BYTES // MIB} MiB")
    if not content:
        raise InvalidInput(f"{name}: empty file")
    return document_format(name)
