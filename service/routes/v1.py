"""OpenAI-compatible endpoints: existing OpenAI clients point their base URL at /v1 and get answers from
the documents. `model` selects the collection (`rag`, `rag:NAME`); our fields ride along as extras."""

import base64
import json

from fastapi import APIRouter, Request

from rag.errors import RagError
from service.deps import AnsweringDep, CallerDep, LibraryDep, ServicesDep
from service.errors import stream_error
from service.schemas import STREAM, OpenAIErrorOut, errors
from service.streaming import ClosingStreamingResponse
from service.openai_api import (
    ChatCompletionRequest, Completion, EmbeddingRequest, InvalidParameter, ModelNotFound,
    collection_of, extras, model, models, texts_of, usage,
)

router = APIRouter(prefix="/v1", tags=["openai"], responses=errors(404, shape=OpenAIErrorOut))


def _names(library) -> list[str]:
    return [c["name"] for c in library.collections()]


@router.get("/models")
def list_models(services: ServicesDep, library: LibraryDep) -> dict:
    """`rag` (the default collection), `rag:NAME` for each of your collections, and the embedding model."""
    return models(services.settings.collection, _names(library), services.embedder.name)


@router.get("/models/{model_id}")
def get_model(services: ServicesDep, library: LibraryDep, model_id: str) -> dict:
    """One of the models /v1/models lists; another is a 404 `model_not_found`."""
    if model_id != services.embedder.name:
        collection_of(model_id, services.settings.collection, _names(library))
    return model(model_id)


@router.post("/chat/completions", responses=STREAM)
def chat_completions(services: ServicesDep, answering: AnsweringDep, request: ChatCompletionRequest, http: Request):
    """OpenAI's chat completions, answered from the collection the model names. The content ends with a Sources
    block (`sources_in_content: false` leaves it out); `annotations` link each source's document. Extra fields
    in the response (and in the last stream chunk): `citations`, `answered_by` (local, large or cache),
    `answered_by_reason`, `answered_by_detail`, `refused`; the first stream chunk carries `sources`."""
    request.check_supported()
    collection = collection_of(request.model, services.settings.collection, _names(answering.library))
    messages, form = request.as_messages(), request.form()
    chat = answering.chat(messages, collection, form=form)
    events = (e for e in chat if e["type"] != "waiting")  # our clients show it; OpenAI's have no place for it
    completion = Completion(request.model, request.sources_in_content, str(http.base_url))
    count = services.embedder.count_tokens
    asked = sum(count(m.text()) for m in request.messages)
    if not request.stream:
        *_, done = events
        return completion.response(done, usage(done, asked, count))
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
                    if tail := completion.sources(event):
                        yield data(completion.chunk({"content": tail}))
                    yield data(completion.chunk({}, event["finish_reason"], **extras(event)))
                    if include_usage:
                        yield data(completion.usage_chunk(usage(event, asked, count)))
        except RagError as e:  # after the first byte the status is sent: report in the stream
            yield data(stream_error("/v1/chat/completions", e))
        yield "data: [DONE]\n\n"

    return ClosingStreamingResponse(chat, sse())


@router.post("/embeddings")
def embeddings(services: ServicesDep, caller: CallerDep, request: EmbeddingRequest) -> dict:
    """Vectors from the service's own embedding model (all-minilm-l6-v2 by default, or multilingual-e5-small: 384
    dimensions, unit length, texts past the model's length cut; passages' role). `float` or `base64` (little-endian float32) encoding. Input: texts,
    or token ids of OpenAI's cl100k_base (LangChain's OpenAIEmbeddings sends those), decoded here."""
    if request.model != services.embedder.name:
        raise ModelNotFound(f"the embedding model is {services.embedder.name!r}, not {request.model!r}")
    texts = texts_of(request.input)
    if not texts or len(texts) > 2048 or any(not t for t in texts):
        raise InvalidParameter("input", "input must be 1 to 2,048 non-empty strings (or lists of token ids)",
                               "invalid_value")
    if sum(len(t) for t in texts) > 1_000_000:
        raise InvalidParameter("input", "input is over 1,000,000 characters", "string_above_max_length")
    if request.dimensions not in (None, services.embedder.dimension):
        raise InvalidParameter("dimensions", f"this model has {services.embedder.dimension} dimensions only",
                               "invalid_value")
    tokens = sum(services.embedder.count_tokens(t) for t in texts)
    services.gate.charge_embedding(caller, tokens)
    vectors = services.embedding_line.embed(texts)
    data = []
    for i, vector in enumerate(vectors):
        encoded = base64.b64encode(vector.astype("<f4").tobytes()).decode() if request.encoding_format == "base64" \
            else vector.tolist()
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    return {"object": "list", "data": data, "model": services.embedder.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
