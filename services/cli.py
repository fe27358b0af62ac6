"""The ``frontdesk`` command: run the product embedded, run one service, or chat from a terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

SERVICES = {"gateway": 8000, "orchestrator": 8001, "retriever": 8002, "escalation": 8003}
DEFAULT_URL = "http://127.0.0.1:8000"
USAGE = """usage: frontdesk {run|gateway|orchestrator|retriever|escalation|chat|ingest|keys} [options]
       frontdesk --help | --version

  run           all services in one process (embedded, no servers needed)
  <service>     one service of the distributed stack (needs RABBITMQ_URL, REDIS_URL)
  chat          stream a reply from a running gateway in the terminal
  ingest        upload files or folders to a knowledge base of a running gateway
  keys          create, list or revoke API keys (tenant and role per key)

`frontdesk <command> --help` shows a command's options, their defaults and the environment
variables it reads. Services read their settings from the environment and from ./.env
(README, "Configuration")."""


def _version() -> str:
    try:
        return version("frontdesk")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _gateway_arguments(parser: argparse.ArgumentParser) -> None:
    """--url and --api-key, from FRONTDESK_URL and API_KEY when not given."""
    parser.add_argument(
        "--url",
        default=None,
        help=f"the gateway (default: $FRONTDESK_URL, else {DEFAULT_URL})",
    )
    # Resolved after parsing, so --help never prints the key itself.
    parser.add_argument(
        "--api-key",
        default=None,
        help="an API key (default: $API_KEY; none is needed in development mode)",
    )


def _gateway_of(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """The gateway URL and the auth header the parsed --url/--api-key stand for."""
    url = args.url or os.environ.get("FRONTDESK_URL") or DEFAULT_URL
    key = args.api_key if args.api_key is not None else os.environ.get("API_KEY", "")
    return url, {"X-API-Key": key} if key else {}


def _run_embedded(argv: Sequence[str]) -> None:
    from services.embedded import create_app
    from shared.runner import run_service

    run_service("embedded", 8000, create_app, argv, distributed=False)


def _run_service(name: str, argv: Sequence[str]) -> None:
    import importlib

    from shared.runner import run_service

    module = importlib.import_module(f"services.{name}.app")
    run_service(name, SERVICES[name], module.create_app, argv)


def _chat(argv: Sequence[str]) -> int:
    import httpx
    from httpx_sse import connect_sse

    parser = argparse.ArgumentParser(prog="frontdesk chat", description="Stream a reply.")
    parser.add_argument("message", nargs="?", help="ask once; omit for an interactive session")
    _gateway_arguments(parser)
    parser.add_argument(
        "--session", default=None, help="continue this session (default: a new one)"
    )
    args = parser.parse_args(argv)
    url, headers = _gateway_of(args)
    session = args.session

    def ask(message: str) -> bool:
        """Stream one reply; False if the gateway refused or the turn failed."""
        nonlocal session
        ok = True
        body = {"message": message, "session_id": session, "channel": "api"}
        with httpx.Client(base_url=url, headers=headers, timeout=90) as client:
            with connect_sse(client, "POST", "/api/v1/chat/stream", json=body) as events:
                if events.response.status_code != 200:
                    events.response.read()
                    detail = events.response.json().get("detail", events.response.text)
                    print(f"error {events.response.status_code}: {detail}", file=sys.stderr)
                    return False
                session = events.response.headers.get("x-session-id", session)
                for sse in events.iter_sse():
                    data = json.loads(sse.data)
                    if sse.event == "meta":
                        sources = ", ".join(data["sources"]) or "none"
                        print(f"[{data['intent']} | sources: {sources}]")
                    elif sse.event == "token":
                        print(data["content"], end="", flush=True)
                    elif sse.event == "done":
                        handoff = " | handed to a human agent" if data["escalate"] else ""
                        print(f"\n[turn {data['turn_count']}{handoff}]")
                    elif sse.event == "error":
                        print(f"\nerror: {data['message']}", file=sys.stderr)
                        ok = False
        return ok

    if args.message:
        return 0 if ask(args.message) else 1
    print("Type a message (Ctrl-D to quit).")
    for line in sys.stdin:
        if line.strip():
            ask(line.strip())
    return 0


def _ingestible(paths: Sequence[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files under ``paths`` an upload would take, and the others with the reason."""
    from shared.documents import FORMATS, MAX_DOCUMENT_BYTES

    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            skipped.append((raw, "does not exist"))
            continue
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.suffix.lower() not in FORMATS:
                skipped.append((str(path), f"unsupported type {path.suffix or '(none)'}"))
            elif path.stat().st_size > MAX_DOCUMENT_BYTES:
                skipped.append((str(path), "larger than 20 MiB"))
            elif path.stat().st_size == 0:
                skipped.append((str(path), "empty file"))
            else:
                files.append(path)
    return files, skipped


def _ingest(argv: Sequence[str]) -> int:
    from concurrent.futures import ThreadPoolExecutor, as_completed
    from urllib.parse import quote

    import httpx
    from rich.console import Console
    from rich.progress import Progress

    parser = argparse.ArgumentParser(
        prog="frontdesk ingest", description="Upload files or folders to a knowledge base."
    )
    parser.add_argument("paths", nargs="+", help="files or folders (searched recursively)")
    parser.add_argument("--kb", default="default", help="knowledge base id (default: default)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="uploads at once (default: 4; each is parsed and embedded by a retriever)",
    )
    _gateway_arguments(parser)
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be 1 or more")
    url, headers = _gateway_of(args)
    files, skipped = _ingestible(args.paths)
    endpoint = f"/api/v1/knowledge-bases/{quote(args.kb, safe='')}/documents"

    def upload(client: httpx.Client, path: Path) -> httpx.Response:
        with path.open("rb") as handle:
            return client.post(endpoint, files={"file": (path.name, handle)})

    counts = {"created": 0, "replaced": 0, "unchanged": 0}
    # The bar is drawn on a terminal's stderr only; redirected stdout keeps a line per file.
    bar = Console(stderr=True)
    limits = httpx.Limits(max_connections=args.concurrency)
    with (
        httpx.Client(base_url=url, headers=headers, timeout=600, limits=limits) as client,
        ThreadPoolExecutor(args.concurrency) as pool,
        Progress(
            console=bar,
            disable=not bar.is_terminal,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as progress,
    ):
        task = progress.add_task("uploading", total=len(files))
        pending = {pool.submit(upload, client, path): path for path in files}
        for number, done in enumerate(as_completed(pending), start=1):
            path = pending[done]
            progress.advance(task)
            try:
                response = done.result()
            except httpx.HTTPError as exc:
                pool.shutdown(cancel_futures=True)
                print(f"cannot reach {url}: {exc}", file=sys.stderr)
                return 2
            if response.status_code in (200, 201):
                result = response.json()
                counts[result["status"]] += 1
                chunks = result["document"]["chunk_count"]
                line = f"{path}: {result['status']} ({chunks} chunks)"
            else:
                reason = response.json().get("detail", response.text)
                skipped.append((str(path), f"HTTP {response.status_code}: {reason}"))
                line = f"{path}: skipped ({reason})"
            line = f"[{number}/{len(files)}] {line}"
            if bar.is_terminal and sys.stdout.isatty():  # above the bar, on the same terminal
                progress.console.print(line, markup=False, highlight=False)
            else:
                print(line, flush=True)
    print(
        f"done: {counts['created']} created, {counts['replaced']} replaced, "
        f"{counts['unchanged']} unchanged, {len(skipped)} skipped"
    )
    for name, reason in skipped:
        print(f"  skipped {name}: {reason}")
    return 1 if skipped and not any(counts.values()) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``frontdesk <command>``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ["run", *SERVICES, "chat", "ingest", "keys"]
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "--version":
        print(f"frontdesk {_version()}")
        return 0
    if not argv or argv[0] not in commands:
        if argv:
            print(f"frontdesk: unknown command {argv[0]!r}\n", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        _run_embedded(rest)
    elif command == "chat":
        return _chat(rest)
    elif command == "ingest":
        return _ingest(rest)
    elif command == "keys":
        from services.keys_cli import keys_command

        return keys_command(rest)
    else:
        _run_service(command, rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
