"""A collection's passages read ahead of its questions (`ingest --warm`): each passage's reading kept for the
three prompts that read it (short answers, long answers, the judge), so that the first questions over it are
answered as fast as the later ones. Only where the kept readings fit RAG_PASSAGE_CACHE_MB: warming more
would push out what was kept before."""

from collections.abc import Callable, Sequence

from rag.answer.prompt import SOURCES, build_prompt
from rag.answer.verify import SOURCE, judge_prompt
from rag.chunks import Chunk
from rag.errors import RagError
from rag.llm import second_reader
from rag.llm.passage_states import PassageStates

MB = 2**20


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
         on_passage: Callable[[], None] | None = None) -> int:
    """Passages kept (already or now); RagError before the first when the rest would not fit the bound."""
    prompts = [
        (llm, lambda c: build_prompt("?", [c]), SOURCES),
        (llm, lambda c: build_prompt("?", [c], "long"), SOURCES),
        (judge, lambda c: judge_prompt("?", "?", [c]), SOURCE),
    ]
    checked = False
    for chunk in chunks:
        before = states.offered
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
