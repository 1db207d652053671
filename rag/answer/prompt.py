"""What the model reads: instructions, numbered sources under their documents, the question."""

from pathlib import Path

from rag.chunks import Chunk

NOT_FOUND = "NOT FOUND"
SOURCES = "Sources:"  # what the passages follow in the prompt: the fixed instructions end here (rag.llm.prefill)
# Small models answer best when asked for a short extractive answer and nothing else; the sources it used
# are found afterwards (markers it writes are honoured, missing ones are added). Questions that ask for an
# explanation, a comparison or a change over time get a few sentences instead, and are refused only when the
# sources say nothing about them: a phrase cannot answer them, and sources rarely answer them completely.
# Asked for figures, a small model also writes sums and differences of its own, often wrong and never in a
# source: asking it to copy them cut docugami's long answers stating a figure no cited source holds from 4 of
# 12 to none at the same F1 (benchmarks/long_answers.py, docs/BENCHMARKS.md).
SYSTEM = (
    "You answer questions using only the numbered sources the user gives you. "
    "Reply with the answer only: the shortest phrase from the sources that answers the question. "
    f"If the sources do not contain the answer, reply exactly: {NOT_FOUND}"
)
SYSTEM_LONG = (
    "You answer questions using only the numbered sources the user gives you. "
    "Reply in three to five sentences with the facts and figures from the sources that answer the question, "
    "each figure copied exactly as the sources write it, with its period or date; "
    "do not add, subtract or compute figures of your own. "
    f"If the sources say nothing about the question, reply exactly: {NOT_FOUND}"
)
REWRITE = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation. Reply with the question only."
)
FORM = "Write the answer in this form (language, tone), still from the sources only: "
# Text of no interest: what read_time and benchmarks/llm_speed.py time the model reading.
FILLER = "The committee met in the spring and again in the autumn to review the accounts of the society. "


def context_size(settings, style: str, top_k: int | None = None) -> tuple[int, int]:
    """Passages and token budget of the context: long answers draw on more of the sources."""
    if style != "long":
        return top_k or settings.top_k, settings.context_tokens
    scaled = round(settings.top_k * settings.long_context_tokens / settings.context_tokens)
    return top_k or scaled, settings.long_context_tokens


def by_document(passages: list[Chunk]) -> list[Chunk]:
    """Each document's passages side by side (best first), documents in the order of their best passage."""
    order = {d: n for n, d in enumerate(dict.fromkeys(p.document_id for p in passages))}
    return sorted(passages, key=lambda p: order[p.document_id])


def build_sources(passages: list[Chunk], style: str = "short") -> str:
    """Numbered passages under their document's name, written once per run of passages from one document:
    every prompt token costs reading time. For short answers a passage's page and headings are written only
    where they change; long answers, which name the period or section of each fact, answered worse so.
    A passage with no place (text before a document's first heading) after one with a place starts its
    document's block again, so that it does not read as sharing that place."""
    blocks: list[list[str]] = []
    last = ""
    for i, p in enumerate(passages, start=1):
        where = ", ".join(filter(None, [f"page {p.page}" if p.page else "", p.headings]))
        if i == 1 or p.document_id != passages[i - 2].document_id or (last and not where):
            blocks.append([f"Document: {Path(p.source).stem}"])
            last = ""
        shown = where if where != last or style == "long" else ""
        blocks[-1].append(f"[{i}] {f'({shown}) ' if shown else ''}{p.text.strip()}")
        last = where
    return "\n\n".join("\n".join(block) for block in blocks)


def build_prompt(question: str, passages: list[Chunk], style: str = "short",
                 instruction: str = "") -> list[dict[str, str]]:
    """A client's instruction (an OpenAI system message) comes after the question, as a wish about the answer's
    form: the rules before the sources, read from the model's cache, stay as they are."""
    ask = f"{SOURCES}\n\n{build_sources(passages, style)}\n\nQuestion: {question}"
    if instruction.strip():
        ask += f"\n\n{FORM}{instruction.strip()}"
    return [{"role": "system", "content": SYSTEM_LONG if style == "long" else SYSTEM}, {"role": "user", "content": ask}]
