"""The gateway: HTTP API, auth, sessions, hot cache, and relay of turn events to clients."""
