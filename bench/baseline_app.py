"""Baseline for the Frontdesk benchmarks: the least a chat backend can do.

A bare FastAPI app in one process: no broker, no workers, no classification, no retrieval.

  POST /api/v1/chat         {"message": str} -> {"reply": str}
      one Redis GET of bench:baseline:<sha1(message)>; on a hit return it, otherwise
      stream the answer from the LLM (openai.AsyncOpenAI), concatenate, SET the key, return.
  POST /api/v1/chat/stream  {"message": str} -> SSE
      event: meta   {"intent": "knowledge_qa", "sources": [], "escalate": false}   (first)
      event: token  {"content": "..."}   one per LLM chunk (one event with the whole
                                        answer on a cache hit)
      event: done   {"turn_count": 1, "escalate": false, "answer": "<full answer>"}
      event: error  {"error": "..."}     if the LLM call fails
      The stream path does the same cache GET (after meta) and SET as /api/v1/chat.
  GET /healthz, GET /readyz (Redis PING)

Extra body fields (channel, user_id, ...) are ignored, and so is X-API-Key, so the harness
can send identical requests to the baseline and to Frontdesk.

Run: python bench/baseline_app.py --port 9200 --llm-url http://127.0.0.1:9100/v1 \
         --redis-url redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from openai import AsyncOpenAI
from pydantic import BaseModel
from redis.asyncio import BlockingConnectionPool, Redis

KEY_PREFIX = "bench:baseline:"
SYSTEM_PROMPT = "You are a helpful customer-service assistant."
META = {"intent": "knowledge_qa", "sources": [], "escalate": False}


class ChatRequest(BaseModel):
    message: str


def cache_key(message: str) -> str:
    return KEY_PREFIX + hashlib.sha1(message.encode("utf-8")).hexdigest()


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def create_app(
    llm_url: str = "http://127.0.0.1:9100/v1",
    redis_url: str = "redis://127.0.0.1:6379/15",
    *,
    model: str = "fake",
    llm_api_key: str = "fake",
    redis_max_connections: int = 200,
    cache_ttl_seconds: int = 3600,
    llm_timeout_seconds: float = 60.0,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = BlockingConnectionPool.from_url(
            redis_url, max_connections=redis_max_connections, timeout=10, decode_responses=True
        )
        app.state.redis = Redis(connection_pool=pool)
        app.state.llm = AsyncOpenAI(
            base_url=llm_url,
            api_key=llm_api_key,
            max_retries=0,
            http_client=httpx.AsyncClient(
                timeout=httpx.Timeout(llm_timeout_seconds, connect=5.0),
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
            ),
        )
        try:
            yield
        finally:
            await app.state.llm.close()
            await app.state.redis.aclose()
            await pool.disconnect()

    app = FastAPI(title="frontdesk-bench-baseline", lifespan=lifespan)

    async def llm_stream(message: str) -> AsyncIterator[str]:
        stream = await app.state.llm.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": message},
            ],
            stream=True,
        )
        # Closing the stream on exit (also on cancellation, i.e. when our own client
        # disconnected) closes the upstream HTTP response.
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    content = chunk.choices[0].delta.content
                    if content:
                        yield content

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            await app.state.redis.ping()
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.post("/api/v1/chat")
    async def chat(req: ChatRequest) -> JSONResponse:
        key = cache_key(req.message)
        cached = await app.state.redis.get(key)
        if cached is not None:
            return JSONResponse({"reply": cached})
        try:
            reply = "".join([part async for part in llm_stream(req.message)])
        except Exception as exc:  # noqa: BLE001 - report upstream failures as 502
            return JSONResponse({"error": f"llm failure: {exc}"}, status_code=502)
        await app.state.redis.set(key, reply, ex=cache_ttl_seconds)
        return JSONResponse({"reply": reply})

    @app.post("/api/v1/chat/stream")
    async def chat_stream(req: ChatRequest) -> StreamingResponse:
        message = req.message

        async def events() -> AsyncIterator[str]:
            yield sse("meta", META)
            key = cache_key(message)
            try:
                answer = await app.state.redis.get(key)
                if answer is not None:
                    yield sse("token", {"content": answer})
                else:
                    parts: list[str] = []
                    async for part in llm_stream(message):
                        parts.append(part)
                        yield sse("token", {"content": part})
                    answer = "".join(parts)
                    await app.state.redis.set(key, answer, ex=cache_ttl_seconds)
            except Exception as exc:  # noqa: BLE001 - surfaced to the client as an SSE error
                yield sse("error", {"error": f"{type(exc).__name__}: {exc}"})
                return
            yield sse("done", {"turn_count": 1, "escalate": False, "answer": answer})

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Frontdesk benchmark baseline app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--llm-url", default="http://127.0.0.1:9100/v1")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--model", default="fake")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()

    import uvicorn

    uvicorn.run(
        create_app(args.llm_url, args.redis_url, model=args.model),
        host=args.host,
        port=args.port,
        workers=1,
        log_level=args.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
