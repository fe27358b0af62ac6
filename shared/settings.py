"""Configuration from flat environment variables (see .env.example)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SAMPLE_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "services/retriever/knowledge_base"
SAMPLE_FOLDER = "sample"  # KNOWLEDGE_DIR's name for it (a folder called so: ./sample)
MIN_KEY_CHARS = 16
MIN_JWT_SECRET_CHARS = 32  # HS256 wants a key at least as long as its hash (RFC 7518, 3.2)
# Words that mark a value copied from an example, compared without case or punctuation.
PLACEHOLDER_WORDS = (
    "replaceme",
    "changeme",
    "changeit",
    "yourapikey",
    "yourkey",
    "yoursecret",
    "yourtoken",
    "placeholder",
)
SECRET_MIN_CHARS = {"api_key": MIN_KEY_CHARS, "jwt_secret": MIN_JWT_SECRET_CHARS}
GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
# .env files drop quotes, so self and none are accepted bare.
_CSP_KEYWORDS = {"self": "'self'", "'self'": "'self'", "none": "'none'", "'none'": "'none'"}
_CSP_SOURCE = re.compile(
    r"'self'|\*|https?:|(https?://)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?", re.IGNORECASE
)


def secret_problem(value: str, min_chars: int) -> str | None:
    """Why ``value`` cannot be a real secret, or None. Empty means "not set" and passes."""
    if value == "":
        return None
    if not value.strip() or not re.sub(r"[\W_]", "", value):
        return "looks empty"
    if value != value.strip():
        return "has leading or trailing whitespace"
    plain = re.sub(r"[\W_]", "", value.lower())
    if any(word in plain for word in PLACEHOLDER_WORDS) or value.startswith(("${", "<", "{{")):
        return "looks like a placeholder copied from an example"
    if len(value) < min_chars:
        return f"is shorter than {min_chars} characters"
    if len(set(value)) == 1:
        return "repeats one character"
    return None


def frame_ancestors_policy(raw: str) -> str:
    """FRAME_ANCESTORS as a CSP source list: empty or none means no site may frame the page."""
    sources = [_CSP_KEYWORDS.get(s.lower(), s) for s in raw.replace(",", " ").split()]
    if not sources or sources == ["'none'"]:
        return "'none'"
    bad = [s for s in sources if not _CSP_SOURCE.fullmatch(s)]
    if bad:
        raise ValueError(
            f"{bad[0]!r} is not a frame source; use self, none, or origins such as "
            "https://shop.example.com or https://*.example.com"
        )
    return " ".join(sources)


class Settings(BaseSettings):
    """Every knob Frontdesk reads; names match the environment variables."""

    # Errors never echo the value given: it may be a secret.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

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
    grounding_guard: Literal["strict", "flag", "off"] = "strict"
    llm_breaker_failures: int = Field(5, ge=1)
    llm_breaker_cooldown_seconds: float = Field(30.0, gt=0)

    tenant_id: str = "default"
    broker_prefix: str = "frontdesk"
    redis_prefix: str = "fd"
    session_ttl_seconds: int = Field(86_400, ge=60)
    # A resolved turn followed this soon by the same question or a request for an agent is
    # counted as reopened, not resolved (analytics).
    resolution_window_seconds: int = Field(86_400, ge=60)
    max_history_messages: int = Field(200, ge=2, description="a session keeps its newest ones")
    cache_ttl_seconds: int = Field(3_600, ge=1)
    failed_attempts_threshold: int = Field(3, ge=1)
    emotion_escalation_threshold: float = Field(0.4, ge=0, le=1)
    support_hours: str = ""
    support_timezone: str = "UTC"
    support_days: str = "mon,tue,wed,thu,fri,sat,sun"
    agent_keys: SecretStr = SecretStr("")
    turn_timeout_seconds: float = Field(60.0, gt=0)
    max_message_chars: int = Field(4_000, ge=1)
    # Each token event is a broker message and a turn-log write: 150 ms keeps a stream under
    # 10 events a second, the first sent at once (bench/README.md, token events/s).
    token_flush_ms: int = Field(150, ge=0)
    # A folder synced into the default knowledge base at start; "sample" is the packaged
    # sample help centre. Unset: the sample in embedded mode, nothing in the distributed
    # stack, so a production retriever never seeds (or brings back) the sample's pages.
    knowledge_dir: str | None = None
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
    max_connections_per_user: int = Field(10, ge=0, description="the same, per end-user token")
    # A backend key may serve many customers at once: by default only its tenant's cap applies.
    max_connections_per_key: int = Field(0, ge=0, description="the same, per API key")
    resume_grace_seconds: float = Field(15.0, ge=0, description="a dropped stream waits this long")
    jwt_secret: SecretStr = SecretStr("")
    jwt_public_key_file: str = ""
    jwt_jwks_file: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    jwt_tenant_claim: str = "tenant"
    worker_prefetch: int = Field(32, ge=1)
    # Turns one orchestrator runs at once. A turn mostly waits, but past a few dozen the CPU
    # is the limit: in a burst of 500, 256 at once took 2.9x the baseline's CPU per turn and
    # 2.3x its time to done, against 1.7x and 1.2x with 32 (bench/turns.py, same machine).
    turn_prefetch: int = Field(32, ge=1)
    allow_insecure_dev_mode: bool = False
    frame_ancestors: str = ""

    log_level: str = "INFO"
    log_format: str = "text"

    @field_validator(
        "api_key", "jwt_secret", "openai_api_key", "orders_api_key", "weaviate_api_key"
    )
    @classmethod
    def _real_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        """Refuse a placeholder, blank or short key at start, before anyone relies on it."""
        # Other services' keys are theirs to judge ("EMPTY" is a local server's convention).
        minimum = SECRET_MIN_CHARS.get(info.field_name or "")
        if problem := secret_problem(value.get_secret_value(), minimum or 1):
            hint = GENERATE_HINT if minimum else "use the key you were issued"
            raise ValueError(f"{problem}; {hint}")
        return value

    @field_validator("agent_keys")
    @classmethod
    def _real_agent_keys(cls, value: SecretStr) -> SecretStr:
        """Every ``name:key`` pair names an agent and carries a real key."""
        for number, item in enumerate(value.get_secret_value().split(","), start=1):
            if not item.strip():
                continue
            name, colon, key = (part.strip() for part in item.partition(":"))
            if not colon or not name:
                raise ValueError(f"entry {number} is not name:key (alice:<key>,bob:<key>)")
            if problem := "is missing" if not key else secret_problem(key, MIN_KEY_CHARS):
                raise ValueError(f"the key of agent {name!r} {problem}; {GENERATE_HINT}")
        return value

    @field_validator("frame_ancestors")
    @classmethod
    def _frame_sources(cls, value: str) -> str:
        return frame_ancestors_policy(value)

    @property
    def llm_enabled(self) -> bool:
        """True when an OpenAI-compatible endpoint or key is configured."""
        return bool(self.openai_base_url or self.openai_api_key.get_secret_value())

    @property
    def embedded(self) -> bool:
        """True when no broker is configured, so everything runs in one process."""
        return not self.rabbitmq_url

    @property
    def knowledge_folder(self) -> Path | None:
        """The folder KNOWLEDGE_DIR names (see there), or None for no folder at all."""
        value = self.knowledge_dir
        if value is None:
            value = SAMPLE_FOLDER if self.embedded else ""
        if value == SAMPLE_FOLDER:
            return SAMPLE_KNOWLEDGE_DIR
        return Path(value) if value else None
