"""What the answer path passes between its steps, and what it returns."""

import time
from dataclasses import asdict, dataclass, field

from rag.answer.citations import Citation
from rag.answer.refusal import Hesitation
from rag.chunks import Chunk


@dataclass
class Answer:
    answer: str
    refused: bool
    citations: list[Citation]
    question: str  # the standalone question used for retrieval
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    style: str = "short"  # short: a phrase; long: a few sentences
    refusal_probability: float | None = None  # the model's own chance of starting with NOT FOUND
    question_logprob: float | None = None  # how expected the question's words are after the sources
    answered_by: str = "local"  # local | large | cache
    answered_by_reason: str = ""  # why that one (README, "Who answers")
    answered_by_detail: str = ""
    large_tokens: int = 0  # large-model tokens this answer spent
    saved_tokens: int = 0  # large-model tokens it would have cost had the large model answered it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Reply:
    """An answer's text before its citations, and who wrote it."""

    text: str
    refused: bool
    by: str
    reason: str
    detail: str = ""
    hesitation: Hesitation = field(default_factory=Hesitation)
    large_tokens: int = 0


@dataclass
class Run:
    """One answer in the making."""

    messages: list[dict[str, str]]
    collection: str
    top_k: int | None
    document_ids: list[str] | None
    style: str | None
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    question: str = ""
    vector: object = None
    version: int = 0
    passages: list[Chunk] = field(default_factory=list)
    best: float = 0.0
    prompt: list[dict[str, str]] = field(default_factory=list)
    sent: str = ""  # text already streamed
    model: object = None  # the ExitStack that holds this answer's turn on the local model, while it holds one
    holding: bool = False

    def lap(self, name: str, since: float) -> None:
        self.timings[name] = round(time.perf_counter() - since, 3)
