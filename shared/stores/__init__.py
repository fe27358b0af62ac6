"""Redis-backed stores (sessions, hot cache, LLM leases, escalations) and their protocols."""
