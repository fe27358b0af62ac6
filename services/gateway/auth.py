"""Who is calling: an API key (issued, or from the environment) or an end-user JWT, resolved to
a tenant and a role, then counted against the rate limits."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from services.gateway.end_user_tokens import EndUserTokens
from services.gateway.stores.api_keys import RedisApiKeyStore, Role
from services.gateway.stores.rate_limits import RateDecision, RedisRateLimiter, rate_limit_headers
from shared.errors import Forbidden, TooManyRequests, Unauthorized
from shared.security import presented_key
from shared.settings import Settings

MISSING = "Invalid or missing API key (send X-API-Key or Authorization: Bearer)"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    tenant_id: str
    role: Role
    key_id: str  # what rate limits count against
    user_id: str | None = None  # set by an end-user token: the caller may act only as this user
    agent_id: str | None = None

    def require(self, *roles: Role) -> Principal:
        """This principal, or Forbidden if its role is not among ``roles``."""
        if self.role not in roles:
            raise Forbidden(f"This needs a {' or '.join(roles)} key; yours is a {self.role} key")
        return self


class Authenticator:
    """Resolves credentials in a fixed order; every comparison is constant-time or by hash."""

    def __init__(
        self,
        settings: Settings,
        keys: RedisApiKeyStore,
        agent_keys: Mapping[str, str],
        limiter: RedisRateLimiter,
    ) -> None:
        self._settings = settings
        self._env_key = settings.api_key.get_secret_value()
        self._agent_keys = dict(agent_keys)
        self._keys = keys
        self._tokens = EndUserTokens(settings)
        self._limiter = limiter

    @property
    def dev_mode(self) -> bool:
        """No API_KEY configured: callers without credentials act as the default tenant's admin."""
        return not self._env_key

    async def identify(self, headers: Mapping[str, str], query_key: str = "") -> Principal:
        """The caller; Unauthorized for missing or unknown credentials."""
        presented = presented_key(headers) or query_key
        tenant = self._settings.tenant_id
        if not presented and self.dev_mode:
            return Principal(tenant, "admin", "dev", agent_id=headers.get("x-agent-id"))
        if not presented:
            raise Unauthorized(MISSING)
        if self._tokens.enabled and presented.count(".") == 2:
            tenant, user_id = self._tokens.verify(presented)
            return Principal(tenant, "client", f"user:{user_id}", user_id=user_id)
        if self._env_key and hmac.compare_digest(presented.encode(), self._env_key.encode()):
            return Principal(tenant, "admin", "env")
        agent = next(
            (
                name
                for name, key in self._agent_keys.items()
                if hmac.compare_digest(presented.encode(), key.encode())
            ),
            None,
        )
        if agent is not None:
            return Principal(tenant, "agent", f"agent:{agent}", agent_id=agent)
        issued = await self._keys.lookup(presented)
        if issued is None and self.dev_mode:  # development accepts any key, as it always has
            return Principal(tenant, "admin", "dev", agent_id=headers.get("x-agent-id"))
        if issued is None:
            raise Unauthorized(MISSING)
        agent_id = issued.name if issued.role == "agent" else None
        return Principal(issued.tenant_id, issued.role, issued.key_id, agent_id=agent_id)

    async def admit(self, principal: Principal) -> RateDecision | None:
        """Count a request; TooManyRequests past either limit. None when limits are off."""
        if not self._limiter.enabled:
            return None
        decision = await self._limiter.hit(principal.tenant_id, principal.key_id)
        if not decision.allowed:
            raise TooManyRequests(
                f"Rate limit of {decision.limit} requests a minute reached",
                retry_after=decision.retry_after,
                headers=rate_limit_headers(decision),
            )
        return decision
