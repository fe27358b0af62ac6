"""Configuration from flat environment variables (see .env.example)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SAMPLE_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "services/retriever/knowledge_base"


class Settings(BaseSettings):
    """Every knob Frontdesk reads; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    api_key: SecretStr = SecretStr("")
    redis_url: str = ""
    rabbitmq_url: str = ""
    weaviate_url: str = ""
    weaviate_api_key: SecretStr = SecretStr("")
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    orders_api_url: str = ""
    orders_api_key: SecretStr = SecretStr("")
    llm_timeout_seconds: float = Field(30.0, gt=0)
    max_concurrent_llm_calls: int = Field(10, ge=1)
    llm_breaker_failures: int = Field(5, ge=1)
    llm_breaker_cooldown_seconds: float = Field(30.0, gt=0)

    tenant_id: str = "default"
    broker_prefix: str = "frontdesk"
    redis_prefix: str = "fd"
    session_ttl_seconds: int = Field(86_400, ge=60)
    cache_ttl_seconds: int = Field(3_600, ge=1)
    failed_attempts_threshold: int = Field(3, ge=1)
    emotion_escalation_threshold: float = Field(0.4, ge=0, le=1)
    support_hours: str = ""
    support_timezone: str = "UTC"
    support_days: str = "mon,tue,wed,thu,fri,sat,sun"
    agent_keys: SecretStr = SecretStr("")
    turn_timeout_seconds: float = Field(60.0, gt=0)
    max_message_chars: int = Field(4_000, ge=1)
    token_flush_ms: int = Field(100, ge=0)
    knowledge_dir: str = str(SAMPLE_KNOWLEDGE_DIR)
    index_dir: Path = Path("data/index")
    # Uploads are parsed in a child process, killed at this deadline; PDFs are read up to
    # these many pages and this much page content once decompressed.
    document_parse_timeout_seconds: float = Field(20.0, gt=0)
    pdf_max_pages: int = Field(500, ge=1)
    pdf_max_decompressed_mb: int = Field(64, ge=1)
    embedding_provider: Literal["local", "openai", "none"] = "local"
    embedding_model: str = "text-embedding-3-small"
    max_deliveries: int = Field(5, ge=1)
    # 0 turns a limit off.
    rate_limit_per_key: int = Field(100, ge=0, description="requests a minute per API key")
    rate_limit_per_tenant: int = Field(1_000, ge=0, description="requests a minute per tenant")
    ws_messages_per_second: int = Field(10, ge=0)
    max_connections_per_tenant: int = Field(50, ge=0, description="open streams and sockets")
    resume_grace_seconds: float = Field(15.0, ge=0, description="a dropped stream waits this long")
    jwt_secret: SecretStr = SecretStr("")
    jwt_public_key_file: str = ""
    jwt_jwks_file: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    jwt_tenant_claim: str = "tenant"
    worker_prefetch: int = Field(32, ge=1)

    log_level: str = "INFO"
    log_format: str = "text"

    @property
    def llm_enabled(self) -> bool:
        """True when an OpenAI-compatible endpoint or key is configured."""
        return bool(self.openai_base_url or self.openai_api_key.get_secret_value())

    @property
    def embedded(self) -> bool:
        """True when no broker is configured, so everything runs in one process."""
        return not self.rabbitmq_url
