"""OpenAI's wire format for /v1: model names, request bodies, responses, stream chunks and errors."""

import time
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.errors import DocumentNotFound, RagError
from service.schemas import Text

PREFIX = "rag"  # `rag` is the default collection, `rag:NAME` the collection NAME
EMBEDDING_MODEL = "all-minilm-l6-v2"


class ModelNotFound(DocumentNotFound):
    code = "model_not_found"  # OpenAI's code for it


class ContentPart(BaseModel):
    """One part of a message's content: text parts are read, others (images, audio) are left out."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: Text | None = None

    @model_validator(mode="after")
    def text_part_has_text(self):
        if self.type == "text" and self.text is None:
            raise ValueError("a text part needs a string `text`")
        return self


class V1Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Text | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request; sampling options are accepted and ignored (answers decode greedily)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(examples=["rag", "rag:legal"])
    messages: list[V1Message] = Field(min_length=1)
    stream: bool = False
    stream_options: dict | None = None

    def as_messages(self) -> list[dict[str, str]]:
        """The conversation for our answer path: system prompts are left out (the answer's own rules
        apply), the last message must be the user's question."""
        turns = [{"role": m.role, "content": m.text()} for m in self.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
            raise RagError("the last message must be a user message with text")
        if len(turns[-1]["content"]) > 4000:
            raise RagError("the question is longer than 4,000 characters")
        return turns


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(examples=[EMBEDDING_MODEL])
    input: Text | list[Text] = Field(examples=["How many vacation days do I get?"])
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


def collection_of(model: str, default: str, known: list[str]) -> str:
    """`rag` → the default collection; `rag:NAME` → NAME, which must exist."""
    if model == PREFIX:
        return default
    name = model.removeprefix(f"{PREFIX}:")
    if not model.startswith(f"{PREFIX}:") or name not in [default, *known]:
        raise ModelNotFound(f"the model {model!r} does not exist: use {PREFIX!r} or {PREFIX}:COLLECTION "
                            f"(GET /v1/models lists them)")
    return name


def models(default: str, collections: list[str]) -> dict:
    names = [PREFIX] + [f"{PREFIX}:{c}" for c in dict.fromkeys([default, *collections])] + [EMBEDDING_MODEL]
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "smallrag"} for n in names]}


def extras(done: dict) -> dict:
    """Our answer's fields that OpenAI's format lacks; standard clients ignore them."""
    return {k: done[k] for k in ("citations", "answered_by", "answered_by_reason", "answered_by_detail", "refused",
                                 "support")}


class Completion:
    """Builds one completion's response or its stream chunks."""

    def __init__(self, model: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def _base(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def response(self, done: dict, usage: dict) -> dict:
        choice = {"index": 0, "message": {"role": "assistant", "content": done["answer"]}, "finish_reason": "stop",
                  "logprobs": None}
        return {**self._base("chat.completion"), "choices": [choice], "usage": usage, **extras(done)}

    def chunk(self, delta: dict, finish: str | None = None, **fields) -> dict:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**self._base("chat.completion.chunk"), "choices": [choice], **fields}

    def usage_chunk(self, usage: dict) -> dict:
        return {**self._base("chat.completion.chunk"), "choices": [], "usage": usage}


ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error",
               413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
               429: "rate_limit_error", 503: "server_error"}


def error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param,
                      "code": code}}
