"""A stand-in for a rate-limited provider's OpenAI-compatible API: answers, 429s with Retry-After, or
hangs past the client's timeout, in a seeded random order. It records when each request came."""

import asyncio
import random
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def flaky_provider(rate_limited: float = 0.2, hangs: float = 0.1, hang_s: float = 5.0, retry_after: int = 1,
                   seed: int = 0, reply: str = "Paris [1]") -> FastAPI:
    app = FastAPI()
    app.state.requests = []  # (time, outcome)
    chance = random.Random(seed)

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        await request.json()
        roll = chance.random()
        outcome = "429" if roll < rate_limited else "hang" if roll < rate_limited + hangs else "ok"
        app.state.requests.append((time.time(), outcome))
        if outcome == "429":
            body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
            return JSONResponse(body, status_code=429, headers={"retry-after": str(retry_after)})
        if outcome == "hang":
            await asyncio.sleep(hang_s)
        return {"id": "x", "object": "chat.completion", "created": 0, "model": "big",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 300, "completion_tokens": 4, "total_tokens": 304}}

    return app
