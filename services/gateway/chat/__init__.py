"""A chat turn at the gateway: open it, render its events in a protocol, close it."""

from services.gateway.chat.service import ChatService, Publish
from services.gateway.chat.turn import Turn, TurnEvents

__all__ = ["ChatService", "Publish", "Turn", "TurnEvents"]
