"""Redis-backed stores the services share: sessions, hot cache, turn and event logs,
escalations, assistants; protocols.py says what domain code asks of them. The gateway's own
(keys, limits, leases) are in services/gateway/stores."""
