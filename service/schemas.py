"""Request and response bodies of the HTTP API."""

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from rag.answer import Citation


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1, max_length=8000)


class ChatRequest(BaseModel):
    question: str | None = Field(None, min_length=1, max_length=4000, examples=["How many vacation days do I get?"])
    messages: list[Message] | None = Field(
        None, max_length=100, description="Chat history, last message from the user; used instead of `question`."
    )
    collection: str | None = Field(None, examples=["default"])
    document_ids: list[str] | None = Field(None, max_length=1000, description="Only search these documents.")
    top_k: int | None = Field(None, ge=1, le=20)
    stream: bool = Field(False, description="Server-sent events: `token` events, then one `done` event.")
    style: Literal["auto", "short", "long"] | None = Field(
        None, description="short: a phrase; long: a few sentences; auto: long for why/how/compare/trend "
        "questions. Default: the server's RAG_ANSWER_STYLE.",
    )

    @model_validator(mode="after")
    def one_question(self):
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


class ChatResponse(BaseModel):
    answer: str
    refused: bool = Field(description="True when the documents do not contain the answer.")
    citations: list[Citation]
    question: str = Field(description="The standalone question used for retrieval.")
    timings: dict[str, float]
    model: str
    style: str = Field(description="short or long: the kind of answer given.")
    refusal_probability: float | None = Field(None, description="The model's chance of saying not found.")
    question_logprob: float | None = Field(
        None, description="Mean log-probability of the question's words after the sources; low means unexpected.",
    )
    answered_by: Literal["local", "large", "cache"] = Field(description="Who answered: README, Who answers.")
    answered_by_reason: str = Field(description="Why: local_only, grounded, local_refused, ungrounded, always, "
                                    "budget_spent, large_unavailable, nothing_relevant, not_mentioned, cache_hit.")
    answered_by_detail: str = Field("", description="The figures behind the reason, for people.")
    large_tokens: int = Field(0, description="Large-model tokens this answer spent.")
    saved_tokens: int = Field(0, description="Large-model tokens a local or cached answer would have cost.")


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
    duplicate_of: str | None
    created_at: str
    updated_at: str


class ErrorOut(BaseModel):
    error: str
    detail: str | list | None = None
