"""The ``frontdesk`` command: run the product embedded, run one service, or chat from a terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

SERVICES = {"gateway": 8000, "orchestrator": 8001, "retriever": 8002, "escalation": 8003}


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
    parser.add_argument("message", nargs="?", help="Ask once; omit for an interactive session")
    parser.add_argument("--url", default=os.environ.get("FRONTDESK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY", ""))
    parser.add_argument("--session", default=None)
    args = parser.parse_args(argv)
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    session = args.session

    def ask(message: str) -> bool:
        """Stream one reply; False if the gateway refused or the turn failed."""
        nonlocal session
        ok = True
        body = {"message": message, "session_id": session, "channel": "api"}
        with httpx.Client(base_url=args.url, headers=headers, timeout=90) as client:
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


def _ingest(argv: Sequence[str]) -> int:
    from urllib.parse import quote

    import httpx

    from services.retriever.documents import FORMATS, MAX_DOCUMENT_BYTES

    parser = argparse.ArgumentParser(
        prog="frontdesk ingest", description="Upload files or folders to a knowledge base."
    )
    parser.add_argument("paths", nargs="+", help="Files or folders (searched recursively)")
    parser.add_argument("--kb", default="default", help="Knowledge base id (default: default)")
    parser.add_argument("--url", default=os.environ.get("FRONTDESK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY", ""))
    args = parser.parse_args(argv)

    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for raw in args.paths:
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

    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    counts = {"created": 0, "replaced": 0, "unchanged": 0}
    with httpx.Client(base_url=args.url, headers=headers, timeout=600) as client:
        for number, path in enumerate(files, start=1):
            with path.open("rb") as handle:
                try:
                    response = client.post(
                        f"/api/v1/knowledge-bases/{quote(args.kb, safe='')}/documents",
                        files={"file": (path.name, handle)},
                    )
                except httpx.HTTPError as exc:
                    print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
                    return 2
            if response.status_code in (200, 201):
                result = response.json()
                counts[result["status"]] += 1
                chunks = result["document"]["chunk_count"]
                print(f"[{number}/{len(files)}] {path}: {result['status']} ({chunks} chunks)")
            else:
                reason = response.json().get("detail", response.text)
                skipped.append((str(path), f"HTTP {response.status_code}: {reason}"))
                print(f"[{number}/{len(files)}] {path}: skipped ({reason})")
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
    if not argv or argv[0] not in commands:
        print(
            "usage: frontdesk {run|gateway|orchestrator|retriever|escalation|chat|ingest|keys} "
            "[options]\n"
            "  run           all services in one process (embedded, no servers needed)\n"
            "  <service>     one service of the distributed stack (needs RABBITMQ_URL, REDIS_URL)\n"
            "  chat          stream a reply from a running gateway in the terminal\n"
            "  ingest        upload files or folders to a knowledge base of a running gateway\n"
            "  keys          create, list or revoke API keys (tenant and role per key)",
            file=sys.stderr,
        )
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
