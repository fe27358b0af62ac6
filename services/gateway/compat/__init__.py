"""Adapters for apps written against other chat APIs, each under its own prefix (README:
Compatibility). Each is a thin layer over Frontdesk's own turns and sessions."""
