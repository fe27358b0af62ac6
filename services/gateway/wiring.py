"""The gateway's collaborators, built once by ``create_app`` and handed to routes by type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from services.gateway.agents import AgentDesk
from services.gateway.auth import Authenticator
from services.gateway.chat import ChatService
from services.gateway.connections import ConnectionSlots
from services.gateway.knowledge import KnowledgeAdmin
from services.gateway.stores.api_keys import RedisApiKeyStore
from services.gateway.stores.chat_sessions import RedisChatSessions
from services.gateway.stores.conversations import ConversationMap
from services.gateway.stores.datasets import RedisDatasetStore
from services.gateway.stores.drafts import RedisDraftStore
from services.gateway.stores.idempotency import RedisIdempotencyStore
from shared.settings import Settings
from shared.stores.assistants import RedisAssistantStore
from shared.stores.event_log import RedisEventLog


@dataclass(frozen=True)
class Gateway:
    """Everything a gateway route may use."""

    settings: Settings
    chat: ChatService
    assistants: RedisAssistantStore
    knowledge: KnowledgeAdmin
    agents: AgentDesk
    events: RedisEventLog  # its own Redis pool: readers block on it
    agent_keys: Mapping[str, str]
    connections: ConnectionSlots
    api_keys: RedisApiKeyStore
    auth: Authenticator
    idempotency: RedisIdempotencyStore
    conversations: ConversationMap
    drafts: RedisDraftStore
    datasets: RedisDatasetStore  # RAGFlow's names for knowledge bases
    chat_sessions: RedisChatSessions  # RAGFlow's sessions by chat assistant


class GatewayApp(FastAPI):
    """The gateway's FastAPI app, holding its collaborators as a typed attribute."""

    def __init__(self, gateway: Gateway, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
