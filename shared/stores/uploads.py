"""Uploaded files on their way from a gateway to a retriever, and how each upload is doing.

The broker message that asks for the ingest carries the upload's id instead of up to 27 MiB
of base64 (RabbitMQ 4 refuses messages over 16 MiB by default). The retriever records the
upload's progress under the same id, which a client may poll.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import redis.asyncio as redis

from shared.events import new_id
from shared.stores.redis_client import KeySpace, translate_redis_errors
from shared.stores.text_redis import TextRedis

# Longer than the gateway waits for the ingest (INGEST_TIMEOUT_SECONDS): a file is kept
# until a retriever has ingested it, or the wait is over.
UPLOAD_TTL_SECONDS = 600
JOB_TTL_SECONDS = 86_400  # how long an upload's outcome can be polled

# queued: waiting for a retriever; ingesting: being parsed and embedded; then what the
# ingest did (created, replaced, unchanged), or failed with the reason.
UploadStatus = Literal["queued", "ingesting", "created", "replaced", "unchanged", "failed"]


@dataclass(frozen=True)
class UploadJob:
    """One upload's progress and outcome."""

    upload_id: str
    kb_id: str
    doc_name: str
    status: UploadStatus
    updated_at: float
    error: str | None = None
    document: dict[str, Any] | None = None  # the stored document, once ingested


class RedisUploadStore:
    """One file per upload id, per tenant, for UPLOAD_TTL_SECONDS at most."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = TextRedis(client)
        self._key = KeySpace(prefix)

    def _upload_key(self, tenant_id: str, upload_id: str) -> str:
        return self._key(tenant_id, "upload", upload_id)

    def _job_key(self, tenant_id: str, upload_id: str) -> str:
        return self._key(tenant_id, "upload-job", upload_id)

    @translate_redis_errors
    async def put(self, tenant_id: str, kb_id: str, doc_name: str, content: bytes) -> UploadJob:
        """Keep the file, and its job as queued: one round trip."""
        job = UploadJob(new_id("upl"), kb_id, doc_name, "queued", time.time())
        # The stores' clients decode replies as text: the bytes travel as base64.
        encoded = base64.b64encode(content).decode()
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._upload_key(tenant_id, job.upload_id), encoded, ex=UPLOAD_TTL_SECONDS)
        pipe.set(self._job_key(tenant_id, job.upload_id), _encoded(job), ex=JOB_TTL_SECONDS)
        await pipe.execute()
        return job

    @translate_redis_errors
    async def record(self, tenant_id: str, job: UploadJob) -> None:
        """The upload's new state (written by the retriever as it goes)."""
        await self._redis.set(
            self._job_key(tenant_id, job.upload_id), _encoded(job), ex=JOB_TTL_SECONDS
        )

    @translate_redis_errors
    async def job(self, tenant_id: str, upload_id: str) -> UploadJob | None:
        """The tenant's upload, or None (unknown, another tenant's, or older than a day)."""
        raw = await self._redis.get(self._job_key(tenant_id, upload_id))
        return None if raw is None else UploadJob(**json.loads(raw))

    @translate_redis_errors
    async def get(self, tenant_id: str, upload_id: str) -> bytes | None:
        """The file, or None once it expired or was discarded."""
        encoded = await self._redis.get(self._upload_key(tenant_id, upload_id))
        return None if encoded is None else base64.b64decode(encoded)

    @translate_redis_errors
    async def finish(self, tenant_id: str, job: UploadJob) -> None:
        """Record the upload's outcome and drop its file (a redelivery then finds it gone):
        one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self._upload_key(tenant_id, job.upload_id))
        pipe.set(self._job_key(tenant_id, job.upload_id), _encoded(job), ex=JOB_TTL_SECONDS)
        await pipe.execute()


def _encoded(job: UploadJob) -> str:
    return json.dumps(asdict(job))
