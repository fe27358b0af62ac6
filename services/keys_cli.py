"""``frontdesk keys``: issue, list and revoke API keys in the Redis that the gateways use."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence

from services.gateway.stores.api_keys import ROLES, RedisApiKeyStore
from shared.errors import AppError
from shared.settings import Settings
from shared.stores.redis_client import connect_redis


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    client = connect_redis(settings, max_connections=2)
    store = RedisApiKeyStore(client, settings.redis_prefix)
    try:
        if args.action == "create":
            plain, key = await store.create(args.tenant, args.role, args.name)
            print(plain)
            print(
                f"{key.key_id}: {key.role} key of tenant {key.tenant_id}. "
                "Store it now: it is not shown again.",
                file=sys.stderr,
            )
        elif args.action == "list":
            for key in await store.list(args.tenant):
                created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.created_at))
                row = {**key.__dict__, "created_at": created}
                print(json.dumps(row) if args.json else "\t".join(map(str, row.values())))
        else:
            key = await store.revoke(args.key_id)
            print(f"revoked {key.key_id} ({key.role} key of tenant {key.tenant_id})")
    finally:
        await client.aclose()
    return 0


def keys_command(argv: Sequence[str]) -> int:
    """Entry point of ``frontdesk keys``."""
    parser = argparse.ArgumentParser(prog="frontdesk keys", description="Manage API keys.")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="issue a key (printed once)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--name", default="", help="a label; an agent key's agent id")
    listing = actions.add_parser("list", help="live keys (never the keys themselves)")
    listing.add_argument("--tenant", default=None)
    listing.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    settings = Settings()
    if not settings.redis_url:
        print("error: keys live in Redis; set REDIS_URL to the gateways' Redis", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings))
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
