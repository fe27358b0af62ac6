"""The escalation worker: builds cards, keeps ticket state, publishes to the escalations exchange."""
