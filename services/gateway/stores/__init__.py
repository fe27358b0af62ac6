"""Redis stores only the gateway uses: API keys, rate limits, leases, idempotency keys, conversations."""
