"""Parses each uploaded document in a child process that is killed when it overruns its time.

pypdf and the chunker are pure Python and hold the GIL: parsed on a thread, a hostile file
would starve the retriever's event loop (searches stall), and a thread cannot be stopped.
A child forked from a small fork server starts in a few milliseconds, runs on its own core,
is held to a memory ceiling, and is killed at the deadline; every way it can fail becomes
a clear ``InvalidInput`` for the uploader.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection

from services.retriever.chunking import Chunk, chunk_markdown
from services.retriever.documents import DEFAULT_PDF_LIMITS, PdfLimits, to_markdown
from shared.documents import MIB
from shared.errors import DependencyUnavailable, InvalidInput
from shared.settings import Settings

# A backstop under the decompressed-size cap: the child may use this much address space.
MEMORY_LIMIT_BYTES = 1024 * MIB
# Parses run side by side at most this many at a time; further uploads wait their turn.
CONCURRENT_PARSES = 2
_CONTEXT = (
    multiprocessing.get_context("forkserver")
    if "forkserver" in multiprocessing.get_all_start_methods()
    else multiprocessing.get_context("spawn")
)
# The fork server imports these once; each child then starts with them loaded. "__main__"
# (when it is a script, such as the ``frontdesk`` command) must be among them, or every
# child would import the script again before it starts parsing.
_CONTEXT.set_forkserver_preload(["__main__", __name__, "pypdf", "lxml.etree"])


@dataclass(frozen=True)
class ParseLimits:
    """Caps on reading one document."""

    timeout_seconds: float = 20.0
    pdf: PdfLimits = DEFAULT_PDF_LIMITS

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        """The caps configured by ``DOCUMENT_PARSE_TIMEOUT_SECONDS`` and ``PDF_MAX_*``."""
        return cls(
            timeout_seconds=settings.document_parse_timeout_seconds,
            pdf=PdfLimits(settings.pdf_max_pages, settings.pdf_max_decompressed_mb * MIB),
        )


def parse_document(
    name: str, content: bytes, pdf_limits: PdfLimits = DEFAULT_PDF_LIMITS
) -> list[Chunk]:
    """The document's chunks, parsed in this process (the child's work; also used in tests)."""
    return chunk_markdown(name, to_markdown(name, content, pdf_limits))


def _child(results: Connection, name: str, content: bytes, pdf_limits: PdfLimits) -> None:
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    try:
        results.send(("ok", parse_document(name, content, pdf_limits)))
    except InvalidInput as exc:
        results.send(("invalid", exc.message))
    except MemoryError:
        results.send(("invalid", f"{name}: needs more memory to read than is allowed"))
    except Exception as exc:  # noqa: BLE001 - a file that trips a parser is the file's fault
        results.send(("invalid", f"{name}: could not be read ({type(exc).__name__})"))


class IsolatedParser:
    """``parse(name, content)`` in a child process, within ``limits``; blocks the calling thread."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._turns = threading.BoundedSemaphore(CONCURRENT_PARSES)

    def __call__(self, name: str, content: bytes) -> list[Chunk]:
        with self._turns:
            return self._parse(name, content)

    def _parse(self, name: str, content: bytes) -> list[Chunk]:
        receive, send = _CONTEXT.Pipe(duplex=False)
        child = _CONTEXT.Process(
            target=_child, args=(send, name, content, self.limits.pdf), daemon=True
        )
        try:
            child.start()
        except OSError as exc:  # out of processes or memory: this machine, not the file
            send.close()
            receive.close()
            raise DependencyUnavailable(f"cannot start a document parser: {exc}") from exc
        send.close()  # the child holds the only writing end: its exit is seen as EOF
        try:
            if not receive.poll(self.limits.timeout_seconds):
                raise InvalidInput(
                    f"{name}: took longer than {self.limits.timeout_seconds:g} s to read; "
                    "the file may be damaged or built to be slow"
                )
            status, value = receive.recv()
        except EOFError:
            raise InvalidInput(f"{name}: could not be read (the reader stopped)") from None
        finally:
            receive.close()
            child.kill()
            child.join()
        if status != "ok":
            raise InvalidInput(value)
        return value  # type: ignore[no-any-return]
