"""A collection's passages read ahead of its questions (`ingest --warm`): each passage's reading kept for the
three prompts that read it (short answers, long answers, the judge), so that the first questions over it are
answered as fast as the later ones. Only where the kept readings fit RAG_PASSAGE_CACHE_MB: warming more
would push out what was kept before."""

import contextlib
import logging
from collections.abc import Callable, Sequence

from rag.answer.prompt import SOURCES, build_prompt
from rag.answer.verify import SOURCE, judge_prompt
from rag.chunks import Chunk
from rag.errors import RagError
from rag.llm import second_reader
from rag.llm.passage_states import PassageStates

MB = 2**20
log = logging.getLogger(__name__)


def readers(settings, llm):
    """The answers' reader and the judge's, keeping their passages' readings where the service keeps them."""
    if not settings.passage_cache_mb:
        raise RagError("nothing to warm: kept passage readings are off (set RAG_PASSAGE_CACHE_MB)")
    if not callable(getattr(llm, "keep_passages", None)):
        raise RagError(f"{llm.name} cannot keep passage readings: only the in-process llama.cpp model can")
    states = PassageStates(settings.data_dir / "passage-states", settings.passage_cache_mb * MB)
    judge = second_reader(llm)
    for reader in (llm, judge):
        reader.keep_passages(states, settings.passage_reread_tokens)
    return llm, judge, states


def warm(llm, judge, states: PassageStates, chunks: Sequence[Chunk],
         on_passage: Callable[[], None] | None = None, turn=contextlib.nullcontext) -> int:
    """Passages kept (already or now); RagError before the first when the rest would not fit the bound. Each
    passage is read inside `turn()`: the answers' turn on the model, where answers are being given."""
    prompts = [
        (llm, lambda c: build_prompt("?", [c]), SOURCES),
        (llm, lambda c: build_prompt("?", [c], "long"), SOURCES),
        (judge, lambda c: judge_prompt("?", "?", [c]), SOURCE),
    ]
    checked = False
    for chunk in chunks:
        before = states.offered
        with turn():
            for reader, prompt, after in prompts:
                reader.prefill(prompt(chunk), [(chunk.collection, chunk.text)], after)
        if not checked and (grew := states.offered - before):  # the first passage read, not already kept
            checked = True
            if grew * len(chunks) > states.max_bytes:
                raise RagError(f"too large to warm: its {len(chunks)} passages would take about "
                               f"{grew * len(chunks) / MB:,.0f} MB, over RAG_PASSAGE_CACHE_MB={states.max_bytes // MB}")
        if on_passage:
            on_passage()
    return len(chunks)


def warm_documents(answers, lexical, collection: str, document_ids: list[str]) -> int:
    """The passages of documents just ingested, read between answers (RAG_WARM_UPLOADS); 0 when they do not fit
    or readings are not kept."""
    if answers.passage_states is None or not document_ids:
        return 0
    wanted = set(document_ids)
    chunks = [c for c in lexical.chunks(collection) if c.document_id in wanted]
    try:
        return warm(answers.llm, answers.verifier.scorer, answers.passage_states, chunks, turn=answers.turns.turn)
    except RagError as e:  # too large to keep, or the line for the model full: the questions read them
        log.info("passages of %d uploaded documents not read ahead: %s", len(wanted), e)
        return 0
