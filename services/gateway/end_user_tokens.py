"""End-user JWTs, for a widget that talks to the gateway directly: HS256, RS256 or a JWKS file.

Whoever holds a signing key may name any tenant in the tenant claim: give the keys only to the
backend that mints tokens for all tenants, or leave JWT_TENANT_CLAIM empty to pin TENANT_ID.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jwt

from services.gateway.stores.api_keys import TENANT_NAME
from shared.errors import Unauthorized
from shared.settings import Settings

MAX_USER_ID_CHARS = 128  # what a user_id may be anywhere in the API
# The user id lands in keys, events and responses: no control characters, no lone surrogates.
USER_ID = re.compile(f"[^\\x00-\\x1f\\x7f\\ud800-\\udfff]{{1,{MAX_USER_ID_CHARS}}}")


class EndUserTokens:
    """Verifies a signed end-user token and reads its tenant and user id."""

    def __init__(self, settings: Settings) -> None:
        self._keys: list[tuple[Any, str]] = []
        if secret := settings.jwt_secret.get_secret_value():
            self._keys.append((secret, "HS256"))
        if settings.jwt_public_key_file:
            self._keys.append((Path(settings.jwt_public_key_file).read_text(), "RS256"))
        if settings.jwt_jwks_file:
            jwks = jwt.PyJWKSet.from_dict(json.loads(Path(settings.jwt_jwks_file).read_text()))
            self._jwks = {k.key_id: k for k in jwks.keys}
        else:
            self._jwks = {}
        self._audience = settings.jwt_audience or None
        self._issuer = settings.jwt_issuer or None
        self._tenant_claim = settings.jwt_tenant_claim
        self._default_tenant = settings.tenant_id

    @property
    def enabled(self) -> bool:
        """True when any verification key is configured."""
        return bool(self._keys or self._jwks)

    def verify(self, token: str) -> tuple[str, str]:
        """``(tenant_id, user_id)`` of a valid token; Unauthorized otherwise."""
        for key, algorithm in self._candidates(token):
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self._audience,
                    issuer=self._issuer,
                    options={"require": ["sub", "exp"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise Unauthorized(f"Invalid end-user token: {exc}") from exc
            claimed = claims.get(self._tenant_claim) if self._tenant_claim else None
            tenant = str(claimed or self._default_tenant)
            if not TENANT_NAME.fullmatch(tenant):
                raise Unauthorized("Invalid end-user token: malformed tenant claim")
            user_id = str(claims["sub"])
            if not USER_ID.fullmatch(user_id):
                raise Unauthorized(
                    f"Invalid end-user token: sub must be 1-{MAX_USER_ID_CHARS} printable characters"
                )
            return tenant, user_id
        raise Unauthorized("Invalid end-user token: signature does not verify")

    def _candidates(self, token: str) -> list[tuple[Any, str]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid end-user token: malformed") from exc
        algorithm = header.get("alg", "")
        candidates = [(k, a) for k, a in self._keys if a == algorithm]
        jwk = self._jwks.get(header.get("kid", ""))
        if jwk is not None:
            candidates.append((jwk.key, jwk.algorithm_name or algorithm))
        return candidates
