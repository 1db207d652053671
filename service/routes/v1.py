"""OpenAI-compatible endpoints: existing OpenAI clients point their base URL at /v1 and get answers from
the documents. `model` selects the collection (`rag`, `rag:NAME`); our fields ride along as extras."""

import base64
import json

from fastapi import APIRouter

from rag.errors import RagError
from service.deps import AnsweringDep, CallerDep, LibraryDep, ServicesDep
from service.errors import stream_error
from service.schemas import STREAM, OpenAIErrorOut, errors
from service.streaming import ClosingStreamingResponse
from service.openai_api import (
    EMBEDDING_MODEL, ChatCompletionRequest, Completion, EmbeddingRequest, ModelNotFound, collection_of,
    extras, models,
)

router = APIRouter(prefix="/v1", tags=["openai"], responses=errors(404, shape=OpenAIErrorOut))


def _names(library) -> list[str]:
    return [c["name"] for c in library.collections()]


@router.get("/models")
def list_models(services: ServicesDep, library: LibraryDep) -> dict:
    """`rag` (the default collection), `rag:NAME` for each of your collections, and the embedding model."""
    return models(services.settings.collection, _names(library))


@router.post("/chat/completions", responses=STREAM)
def chat_completions(services: ServicesDep, answering: AnsweringDep, request: ChatCompletionRequest):
    """OpenAI's chat completions, answered from the collection the model names. Extra fields in the
    response (and in the last stream chunk): `citations`, `answered_by` (local, large or cache),
    `answered_by_reason`, `answered_by_detail`, `refused`; the first stream chunk carries `sources`."""
    collection = collection_of(request.model, services.settings.collection, _names(answering.library))
    messages = request.as_messages()
    events = answering.chat(messages, collection)
    completion = Completion(request.model)
    count = services.embedder.count_tokens
    prompt_tokens = sum(count(m["content"]) for m in messages)

    def usage(answer: str) -> dict:  # estimates, in the embedding model's tokens
        completion_tokens = count(answer)
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens}

    if not request.stream:
        *_, done = events
        return completion.response(done, usage(done["answer"]))
    first = next(events)  # errors before the first event still get a proper status code
    include_usage = bool((request.stream_options or {}).get("include_usage"))

    def sse():
        def data(body) -> str:
            return f"data: {json.dumps(body)}\n\n"

        try:
            yield data(completion.chunk({"role": "assistant", "content": ""}, sources=first.get("sources", [])))
            for event in events:
                if event["type"] == "token":
                    yield data(completion.chunk({"content": event["text"]}))
                elif event["type"] == "done":
                    yield data(completion.chunk({}, "stop", **extras(event)))
                    if include_usage:
                        yield data(completion.usage_chunk(usage(event["answer"])))
        except RagError as e:  # after the first byte the status is sent: report in the stream
            yield data(stream_error("/v1/chat/completions", e))
        yield "data: [DONE]\n\n"

    return ClosingStreamingResponse(events, sse())


@router.post("/embeddings")
def embeddings(services: ServicesDep, caller: CallerDep, request: EmbeddingRequest) -> dict:
    """Vectors from the service's own embedding model (all-MiniLM-L6-v2, 384 dimensions, unit length;
    texts longer than 256 tokens are cut). `float` or `base64` (little-endian float32) encoding."""
    if request.model != EMBEDDING_MODEL:
        raise ModelNotFound(f"the embedding model is {EMBEDDING_MODEL!r}, not {request.model!r}")
    texts = [request.input] if isinstance(request.input, str) else request.input
    if not texts or len(texts) > 2048 or any(not t for t in texts):
        raise RagError("input must be 1 to 2,048 non-empty strings")
    if sum(len(t) for t in texts) > 1_000_000:
        raise RagError("input is over 1,000,000 characters")
    if request.dimensions not in (None, services.embedder.dimension):
        raise RagError(f"this model has {services.embedder.dimension} dimensions only")
    tokens = sum(services.embedder.count_tokens(t) for t in texts)
    services.gate.charge_embedding(caller, tokens)
    vectors = services.embedding_line.embed(texts)
    data = []
    for i, vector in enumerate(vectors):
        encoded = base64.b64encode(vector.astype("<f4").tobytes()).decode() if request.encoding_format == "base64" \
            else vector.tolist()
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    return {"object": "list", "data": data, "model": EMBEDDING_MODEL,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
