"""Frontdesk's four services and the CLI that runs them."""
