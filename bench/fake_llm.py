"""OpenAI-compatible fake LLM server for benchmarks and fault tests.

Run:    python bench/fake_llm.py --port 9100 --tokens-per-second 50 --tokens 50
Import: from bench.fake_llm import create_app; app = create_app(50, 50)

Endpoints
  POST /v1/chat/completions  stream=true  -> SSE chat.completion.chunk lines, then `data: [DONE]`
                             stream=false -> one chat.completion (after the same simulated
                                             generation time)
  GET  /v1/models
  POST /_control  {"mode": "normal"|"error"|"stall"|"rate_limit"|"quote_history"|
                           "wrong_figures"|"quote_passage",
                   "stall_seconds": float,
                   "retry_after": int, "count": int|null, "then": mode, "tokens_per_second": float,
                   "tokens": int}
                  error      -> HTTP 500 with an OpenAI-style JSON error
                  rate_limit -> HTTP 429 with a Retry-After header
                  stall      -> sleeps stall_seconds before the first chunk (after headers)
                  quote_history -> the answer first quotes every earlier message of the
                                conversation (all but the system prompt and the last user
                                message), as a model that repeats what it was told would;
                                with no earlier messages it answers as in normal mode
                  wrong_figures -> a fluent answer stating what the sample help centre does not:
                                "Standard shipping to the US takes 15 days. We accept Visa,
                                PayPal and Cash." (what a small model said; for the grounding
                                guard)
                  quote_passage -> the first sentence of passage [1] of the system prompt,
                                cited: "<sentence> [1]" (a grounded answer)
                  count      -> apply the mode to the next `count` requests only, then go
                                back to `then` (default normal; null/absent = until changed)
  GET  /_stats    {"requests", "completed", "cancelled", "errors", "rate_limited", "active"}
  GET  /_last_request  {"model", "temperature", "max_tokens", "system"} of the last completion
                  request (null before the first); "system" is its system message
  POST /_stats/reset

Timing: the response has `tokens` tokens (capped by max_tokens / max_completion_tokens);
token i (0-based) is emitted at start + i / tokens_per_second, so the first token is
immediate and a full answer takes (tokens - 1) / tokens_per_second seconds.
tokens_per_second <= 0 means "as fast as possible".

Each token is a word followed by a space; the words are chosen deterministically from
the last user message (same message -> same answer, different message -> different answer).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

VOCABULARY = (
    "the order ships within two business days and standard delivery usually takes three to "
    "five days after dispatch you can track your parcel from the account page using the "
    "tracking number in the confirmation email returns are free within thirty days if the "
    "item is unused and in its original packaging refunds are issued to the original payment "
    "method once the warehouse has inspected the return express shipping is available for "
    "most addresses at checkout our support team is happy to help with exchanges warranty "
    "claims billing questions and account changes please keep your order number ready when "
    "you contact us we aim to reply quickly and resolve every request fairly thank you for "
    "your patience customer satisfaction matters to us policy details may vary by region "
    "international orders can incur customs fees collected by the carrier on delivery"
).split()

MODES = (
    "normal",
    "error",
    "stall",
    "rate_limit",
    "quote_history",
    "wrong_figures",
    "quote_passage",
)
QUOTE_LEAD = "Earlier in this conversation: "
WRONG_ANSWER = "Standard shipping to the US takes 15 days. We accept Visa, PayPal and Cash."


@dataclass
class FakeLLMState:
    tokens_per_second: float
    tokens: int
    mode: str = "normal"
    stall_seconds: float = 5.0
    retry_after: int = 1
    mode_count: int | None = None  # remaining requests the mode applies to; None = forever
    then_mode: str = "normal"  # the mode once `mode_count` runs out
    stats: dict[str, int] = field(default_factory=dict)
    last_request: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats = {
            "requests": 0,
            "completed": 0,
            "cancelled": 0,
            "errors": 0,
            "rate_limited": 0,
            "active": 0,
        }

    def take_mode(self) -> str:
        """Mode for the current request (consumes one unit of `count` if set)."""
        mode = self.mode
        if self.mode_count is not None and mode != "normal":
            self.mode_count -= 1
            if self.mode_count <= 0:
                self.mode, self.mode_count = self.then_mode, None
        return mode

    def control_view(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "stall_seconds": self.stall_seconds,
            "retry_after": self.retry_after,
            "count": self.mode_count,
            "then": self.then_mode,
            "tokens_per_second": self.tokens_per_second,
            "tokens": self.tokens,
        }


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for msg in reversed(messages or []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):  # content parts
            return " ".join(
                p.get("text", "")
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
        return ""
    return ""


def quoted_history(messages: list[dict[str, Any]]) -> list[str]:
    """Tokens quoting every message between the system prompt and the last user message."""
    said = [m for m in messages or [] if isinstance(m, dict) and m.get("role") != "system"][:-1]
    texts = [str(m.get("content") or "") for m in said]
    if not texts:
        return []
    return [word + " " for word in (QUOTE_LEAD + " | ".join(texts)).split()]


def first_passage_sentence(messages: list[dict[str, Any]]) -> list[str]:
    """Tokens of passage [1]'s first sentence in the system prompt, cited."""
    system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
    _, found, rest = system.partition("\n[1] ")
    if not found:
        return ["I'm ", "not ", "sure. "]
    body = rest.split("\n", 1)[1] if "\n" in rest else rest
    sentence = body.strip().lstrip("-* ").split("\n", 1)[0]
    sentence = sentence.split(". ", 1)[0].rstrip(".")
    return [word + " " for word in f"{sentence}. [1]".split()]


def make_tokens(prompt: str, n: int) -> list[str]:
    """n deterministic tokens (word + space) derived from the prompt."""
    seed = int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    return [rng.choice(VOCABULARY) + " " for _ in range(n)]


def _error_body(message: str, type_: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def create_app(tokens_per_second: float = 50.0, tokens: int = 50) -> FastAPI:
    state = FakeLLMState(tokens_per_second=float(tokens_per_second), tokens=int(tokens))
    app = FastAPI(title="fake-llm")
    app.state.fake = state

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": "fake", "object": "model", "created": 0, "owned_by": "bench"}],
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/_control")
    async def control(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "invalid JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"detail": "expected a JSON object"}, status_code=400)
        mode = body.get("mode", state.mode)
        if mode not in MODES:
            return JSONResponse({"detail": f"mode must be one of {MODES}"}, status_code=400)
        state.mode = mode
        if "stall_seconds" in body:
            state.stall_seconds = float(body["stall_seconds"])
        if "retry_after" in body:
            state.retry_after = int(body["retry_after"])
        if "tokens_per_second" in body:
            state.tokens_per_second = float(body["tokens_per_second"])
        if "tokens" in body:
            state.tokens = int(body["tokens"])
        count = body.get("count")
        state.mode_count = int(count) if count is not None and mode != "normal" else None
        then = body.get("then", "normal")
        if then not in MODES:
            return JSONResponse({"detail": f"then must be one of {MODES}"}, status_code=400)
        state.then_mode = then
        return JSONResponse(state.control_view())

    @app.get("/_control")
    async def get_control() -> dict[str, Any]:
        return state.control_view()

    @app.get("/_stats")
    async def stats() -> dict[str, int]:
        return dict(state.stats)

    @app.get("/_last_request")
    async def last_request() -> dict[str, Any] | None:
        return state.last_request

    @app.post("/_stats/reset")
    async def reset_stats() -> dict[str, int]:
        state.reset_stats()
        return dict(state.stats)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        state.stats["requests"] += 1
        try:
            body = await request.json()
        except ValueError:
            state.stats["errors"] += 1
            return JSONResponse(
                _error_body("invalid JSON body", "invalid_request_error", "invalid_json"), 400
            )
        if not isinstance(body, dict):
            state.stats["errors"] += 1
            return JSONResponse(
                _error_body("expected a JSON object", "invalid_request_error", "invalid_body"), 400
            )

        messages = body.get("messages") or []
        state.last_request = {
            "model": body.get("model"),
            "temperature": body.get("temperature"),
            "max_tokens": body.get("max_tokens"),
            "system": next(
                (
                    m.get("content")
                    for m in messages
                    if isinstance(m, dict) and m.get("role") == "system"
                ),
                None,
            ),
        }
        mode = state.take_mode()
        if mode == "error":
            state.stats["errors"] += 1
            return JSONResponse(
                _error_body("fake upstream failure", "server_error", "fake_error"), status_code=500
            )
        if mode == "rate_limit":
            state.stats["rate_limited"] += 1
            return JSONResponse(
                _error_body("fake rate limit", "rate_limit_exceeded", "rate_limit_exceeded"),
                status_code=429,
                headers={"Retry-After": str(state.retry_after)},
            )
        stall = state.stall_seconds if mode == "stall" else 0.0

        model = str(body.get("model") or "fake")
        n = state.tokens
        for key in ("max_completion_tokens", "max_tokens"):
            cap = body.get(key)
            if isinstance(cap, int) and cap > 0:
                n = min(n, cap)
        prompt = _last_user_text(body.get("messages") or [])
        toks = make_tokens(prompt, n)
        if mode == "quote_history":
            toks = quoted_history(messages) + toks
            n = len(toks)
        elif mode == "wrong_figures":
            toks = [word + " " for word in WRONG_ANSWER.split()]
            n = len(toks)
        elif mode == "quote_passage":
            toks = first_passage_sentence(messages)
            n = len(toks)
        tps = state.tokens_per_second
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        prompt_tokens = max(1, len(prompt.split()))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n,
            "total_tokens": prompt_tokens + n,
        }

        if not body.get("stream"):
            state.stats["active"] += 1
            try:
                gen_time = (n - 1) / tps if tps > 0 and n > 1 else 0.0
                # Simulate stall + generation time in short steps so a client that goes
                # away is noticed.
                deadline = time.perf_counter() + stall + gen_time
                while True:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    await asyncio.sleep(min(remaining, 0.05))
                    if await request.is_disconnected():
                        state.stats["cancelled"] += 1
                        return JSONResponse({"detail": "client disconnected"}, status_code=499)
                state.stats["completed"] += 1
            finally:
                state.stats["active"] -= 1
            return JSONResponse(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": "".join(toks),
                                "refusal": None,
                            },
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = (
            f'data: {{"id":"{completion_id}","object":"chat.completion.chunk",'
            f'"created":{created},"model":{json.dumps(model)},"system_fingerprint":"fake",'
        )
        usage_null = ',"usage":null' if include_usage else ""

        def chunk(delta: dict[str, Any], finish: str | None) -> str:
            delta_json = json.dumps(delta, separators=(",", ":"))
            return (
                f'{head}"choices":[{{"index":0,"delta":{delta_json},"logprobs":null,'
                f'"finish_reason":{json.dumps(finish)}}}]{usage_null}}}\n\n'
            )

        async def stream():
            state.stats["active"] += 1
            finished = False
            try:
                if stall:
                    await asyncio.sleep(stall)
                start = time.perf_counter()
                for i, tok in enumerate(toks):
                    if tps > 0 and i > 0:
                        delay = start + i / tps - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    delta = {"content": tok}
                    if i == 0:
                        delta = {"role": "assistant", "content": tok}
                    yield chunk(delta, None)
                if not toks:
                    yield chunk({"role": "assistant", "content": ""}, None)
                # Every token has been handed to the server; the stream counts as completed.
                finished = True
                state.stats["completed"] += 1
                yield chunk({}, "stop")
                if include_usage:
                    yield f'{head}"choices":[],"usage":{json.dumps(usage)}}}\n\n'
                yield "data: [DONE]\n\n"
            finally:
                # Reached on CancelledError (Starlette cancels the stream when it sees
                # http.disconnect), GeneratorExit (aclose) or a failed send.
                state.stats["active"] -= 1
                if not finished:
                    state.stats["cancelled"] += 1

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible fake LLM server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()

    import uvicorn

    uvicorn.run(
        create_app(args.tokens_per_second, args.tokens),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
