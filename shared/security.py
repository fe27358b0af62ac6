"""API-key checks shared by the gateway and the workers' ops endpoints."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import SecretStr


def presented_key(headers: Mapping[str, str]) -> str:
    """The key a caller sent, from ``X-API-Key`` or ``Authorization: Bearer``."""
    key = headers.get("x-api-key", "")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_accepted(expected: SecretStr, headers: Mapping[str, str]) -> bool:
    """True in development mode (no key configured) or when the presented key matches."""
    secret = expected.get_secret_value()
    if not secret:
        return True
    # Constant time, so response timing leaks nothing about the key.
    return hmac.compare_digest(presented_key(headers).encode(), secret.encode())
