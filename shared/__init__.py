"""Code every Frontdesk service imports: settings, events, topology, stores, LLM, errors."""
