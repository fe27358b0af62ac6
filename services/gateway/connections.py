"""Open streams and sockets: each holds a slot of its tenant's cap and one of its caller's own
(an API key or an end user), so one caller cannot take all of a tenant's slots."""

from __future__ import annotations

import hashlib

import redis.asyncio as redis

from services.gateway.auth import Principal
from shared.errors import TooManyRequests
from shared.stores.leases import RedisLeasePool

UNLIMITED = 1_000_000_000  # a cap of 0 means none


class ConnectionSlots:
    """Cluster-wide connection caps; a crashed gateway's slots expire with their lease."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        per_tenant: int,
        per_caller: int,
        lease_seconds: float,
    ) -> None:
        self._tenant = RedisLeasePool(
            client, prefix, per_tenant or UNLIMITED, lease_seconds, name="connections"
        )
        self._caller = (
            RedisLeasePool(client, prefix, per_caller, lease_seconds, name="caller-connections")
            if per_caller
            else None
        )

    @staticmethod
    def _caller_scope(principal: Principal) -> str:
        # Hashed: a key id holds whatever an end user's token says, separators included.
        digest = hashlib.sha256(principal.key_id.encode()).hexdigest()[:32]
        return f"{principal.tenant_id}:caller:{digest}"

    async def open(self, principal: Principal, holder: str) -> None:
        """Take (or renew) ``holder``'s slots; TooManyRequests when either cap is reached."""
        scope = self._caller_scope(principal)
        if self._caller is not None and not await self._caller.acquire(holder, scope=scope):
            raise TooManyRequests(
                "Too many open connections for this API key or user", retry_after=1
            )
        if not await self._tenant.acquire(holder, scope=principal.tenant_id):
            if self._caller is not None:
                await self._caller.release(holder, scope=scope)
            raise TooManyRequests("Too many open connections for this tenant", retry_after=1)

    async def close(self, principal: Principal, holder: str) -> None:
        """Free ``holder``'s slots (safe to call twice)."""
        await self._tenant.release(holder, scope=principal.tenant_id)
        if self._caller is not None:
            await self._caller.release(holder, scope=self._caller_scope(principal))
