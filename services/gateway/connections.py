"""Open streams and sockets: each holds a slot of its tenant's cap and one of its caller's own
(an API key or an end user), so one caller cannot take all of a tenant's slots."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator

import redis.asyncio as redis

from services.gateway.auth import Principal
from services.gateway.stores.leases import RedisLeaseCaps
from shared.errors import TooManyRequests
from shared.events import new_id

UNLIMITED = 1_000_000_000  # a cap of 0 means none
REFUSALS = (
    "Too many open connections for this tenant",
    "Too many open connections for this API key or user",
)


class ConnectionSlots:
    """Cluster-wide connection caps; a crashed gateway's slots expire with their lease."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        per_tenant: int,
        per_user: int,
        per_key: int,
        lease_seconds: float,
    ) -> None:
        self._leases = RedisLeaseCaps(client, prefix, lease_seconds, name="connections")
        self._per_tenant = per_tenant or UNLIMITED
        self._per_user = per_user or UNLIMITED
        self._per_key = per_key or UNLIMITED

    @staticmethod
    def _scopes(principal: Principal) -> tuple[str, str]:
        # The caller's is hashed: a key id holds whatever an end user's token says.
        digest = hashlib.sha256(principal.key_id.encode()).hexdigest()[:32]
        return principal.tenant_id, f"{principal.tenant_id}:caller:{digest}"

    async def open(self, principal: Principal, holder: str) -> None:
        """Take (or renew) ``holder``'s slots; TooManyRequests when either cap is reached."""
        per_caller = self._per_key if principal.user_id is None else self._per_user
        caps = list(zip(self._scopes(principal), (self._per_tenant, per_caller), strict=True))
        full = await self._leases.acquire(holder, caps)
        if full is not None:
            raise TooManyRequests(REFUSALS[full], retry_after=1)

    async def close(self, principal: Principal, holder: str) -> None:
        """Free ``holder``'s slots (safe to call twice)."""
        await self._leases.release(holder, self._scopes(principal))

    async def take(self, principal: Principal) -> str:
        """A new holder's slots; TooManyRequests when either cap is reached."""
        holder = new_id("conn")
        await self.open(principal, holder)
        return holder

    @contextlib.asynccontextmanager
    async def held(self, principal: Principal) -> AsyncIterator[str]:
        """Slots held by a new holder (its id) until the block exits."""
        holder = await self.take(principal)
        try:
            yield holder
        finally:
            await self.close(principal, holder)
