"""Request and response bodies of the HTTP API."""

import dataclasses
from typing import Annotated, Literal, get_type_hints

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from rag.answer import Answer


def valid_unicode(text: str) -> str:
    """JSON may carry a lone surrogate ("\\ud800"), which no encoder can write: refused at the edge."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode (it holds a lone surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(valid_unicode)]


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: Text = Field(min_length=1, max_length=8000)


class ChatRequest(BaseModel):
    question: Text | None = Field(None, min_length=1, max_length=4000, examples=["How many vacation days do I get?"])
    messages: list[Message] | None = Field(
        None, max_length=100, description="Chat history, last message from the user; used instead of `question`."
    )
    collection: Text | None = Field(None, examples=["default"])
    document_ids: list[Text] | None = Field(None, max_length=1000, description="Only search these documents.")
    top_k: int | None = Field(None, ge=1, le=20)
    stream: bool = Field(False, description="Server-sent events: `token` events, then one `done` event.")
    style: Literal["auto", "short", "long"] | None = Field(
        None, description="short: a phrase; long: a few sentences; auto: long for why/how/compare/trend "
        "questions. Default: the server's RAG_ANSWER_STYLE.",
    )
    cache: bool = Field(True, description="false: a fresh answer, not one cached for a like question (the fresh "
                        "answer then replaces it, when verified)")
    conversation_id: Text | None = Field(None, description="A kept conversation (POST /conversations): the question "
                                         "is asked after its messages and kept in it, with its answer.")
    regenerate: bool = Field(False, description="With conversation_id and no question: its last question answered "
                             "anew (the last answer replaced, never from the cache).")

    @model_validator(mode="after")
    def one_question(self):
        if self.conversation_id is not None:
            if self.messages:
                raise ValueError("a kept conversation has its own messages: give `question` only")
            if bool(self.question) == self.regenerate:
                raise ValueError("with conversation_id give `question`, or `regenerate: true` without one")
            return self
        if self.regenerate:
            raise ValueError("regenerate needs a conversation_id")
        if not self.question and not self.messages:
            raise ValueError("give `question` or `messages`")
        if self.messages and self.messages[-1].role != "user":
            raise ValueError("the last message must be from the user")
        if self.messages and len(self.messages[-1].content) > 4000:
            raise ValueError("the question (the last message) is longer than 4,000 characters")
        return self

    def as_messages(self) -> list[dict[str, str]]:
        if self.messages:
            return [m.model_dump() for m in self.messages]
        return [{"role": "user", "content": self.question}]


def _from_answer():
    """The /chat response: rag.answer's Answer as it is returned, its fields' descriptions included."""
    fields = {}
    hints = get_type_hints(Answer)
    for f in dataclasses.fields(Answer):
        if f.metadata.get("internal"):
            continue
        about = {"description": f.metadata.get("doc")}
        if f.default_factory is not dataclasses.MISSING:
            about["default_factory"] = f.default_factory
        else:
            about["default"] = ... if f.default is dataclasses.MISSING else f.default
        fields[f.name] = (hints[f.name], Field(**about))
    return create_model("ChatResponse", **fields)


ChatResponse = _from_answer()


class NewConversation(BaseModel):
    collection: Text | None = Field(None, description="The collection its questions are asked of (default: the "
                                    "default collection).")
    title: Text = Field("", max_length=200, description="Empty: the first question names it.")


class ConversationTitle(BaseModel):
    title: Text = Field(min_length=1, max_length=200)


class ConversationOut(BaseModel):
    id: str
    collection: str
    title: str
    created_at: str
    updated_at: str


class KeptMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    citations: list[dict] = Field(description="As the answer gave them; `gone: true` where the document was deleted "
                                  "since.")
    answered_by: str | None
    refused: bool
    created_at: str


class ConversationWithMessages(ConversationOut):
    messages: list[KeptMessage]


class UploadedDocument(BaseModel):
    document_id: str
    name: str


class UploadResponse(BaseModel):
    job_id: str
    collection: str
    documents: list[UploadedDocument]


class DocumentOut(BaseModel):
    id: str
    collection: str
    source: str
    name: str
    sha256: str | None
    size: int | None
    type: str | None
    status: str
    error: str | None
    chunks: int
    pages: int | None = Field(None, description="a PDF's pages")
    duplicate_of: str | None
    created_at: str
    updated_at: str


class PassageOut(BaseModel):
    index: int
    page: int | None
    headings: str
    text: str


class JobFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str | None = None
    document_id: str
    outcome: str | None = Field(None, description="ingested, replaced, unchanged, duplicate, failed or skipped; "
                                   "absent until done")
    reason: str | None = None


class JobOut(BaseModel):
    id: str
    collection: str
    status: Literal["queued", "running", "done", "failed"]
    error: str | None
    total: int = Field(description="files in the job")
    done: int = Field(description="files finished")
    attempts: int
    worker: str | None
    files: list[JobFile]
    created_at: str
    updated_at: str


class ErrorOut(BaseModel):
    error: str = Field(description="the error's name, e.g. CollectionNotFound, FileTooLarge, ServiceBusy")
    detail: str | list[dict] = Field(description="what went wrong, for people; for 422 a list of {loc, msg, type}")


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorOut(BaseModel):
    error: OpenAIError


ERRORS = {
    400: "bad input: an invalid name, an empty or malformed file, a question too long",
    401: "no API key, or not a valid one (auth is on)",
    403: "this key may not do that",
    404: "no such collection, document or job (another tenant's are as absent)",
    409: "it exists already",
    413: "a body, file or upload over its limit, or past the tenant's quota",
    415: "a file type we cannot read",
    422: "the request does not match its schema",
    429: "past this key's rate limit: retry after Retry-After seconds",
    503: "a backend (store, catalog, queue, model) is away, or too many questions wait: retry after Retry-After",
    507: "the server's disk is full: nothing was stored",
}
COMMON = (400, 401, 413, 422, 429, 503)


# A streamed answer (`stream: true`): server-sent events, each a JSON `data` line, under an `event` name on /chat.
EVENT = {"type": "object", "required": ["data"],
         "properties": {"event": {"type": "string", "enum": ["waiting", "sources", "token", "done", "error"]},
                        "data": {"type": "string"}}}
STREAM = {200: {"content": {"text/event-stream": {"schema": EVENT}},
                "description": "the answer; with `stream: true`, server-sent events"}}


def errors(*statuses: int, shape: type[BaseModel] = ErrorOut) -> dict:
    """OpenAPI responses for these errors (and the ones every route can give), in their real body."""
    return {status: {"model": shape, "description": ERRORS[status]} for status in sorted({*COMMON, *statuses})}
