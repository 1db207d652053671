"""A prompt put into llama.cpp's cache with its passages taken from their kept readings (rag.llm.passage_states)
instead of read again. Each passage was read once, right after the fixed instructions; here its state is put
back and shifted to where the prompt has it, and only the rest (the passages' labels, the text between them,
the question) is read. The passages are then read apart from each other: what that costs in quality is
measured, not assumed (docs/BENCHMARKS.md).

llama.cpp keeps a sequence's positions consecutive within a decode, so the prompt is built in order: a
passage's cells, then the text up to the next passage, and so on.
"""

import ctypes
import time
from bisect import bisect_left, bisect_right

import llama_cpp

from rag.llm.passage_states import PassageStates, state_key


def pieces(llm, messages, texts: list[str], after: str, reread: int = 0) -> tuple[list[int], int, list] | None:
    """The prompt's tokens, the number of them that are the fixed instructions (those ending by `after`), and the
    pieces after those: (tokens, None) between passages, (tokens, their key text) for each passage's tokens that
    lie wholly within its text (a token across its edge, ".\n" say, is read with the text around). None where
    the prompt does not split so."""
    llama = llm._llama  # noqa: SLF001
    formatted = llm._format(messages).prompt  # noqa: SLF001
    tokens = llama.tokenize(formatted.encode(), add_bos=False, special=True)
    ends, at = [], 0
    for token in tokens:
        at += len(llama.detokenize([token], special=True))
        ends.append(at)
    cut = formatted.find(after)
    if at != len(formatted.encode()) or cut < 0 or not texts or not all(text.strip() for text in texts):
        return None
    starts = [0] + ends[:-1]
    fixed = bisect_right(ends, len(formatted[: cut + len(after)].encode()))
    spans, at = [], cut + len(after)
    for text in texts:
        start = formatted.find(text, at)
        if start < 0:
            return None
        first = bisect_left(starts, len(formatted[:start].encode()))
        last = bisect_right(ends, len(formatted[: start + len(text)].encode()))
        if last <= first or first < (spans[-1][1] if spans else fixed):
            return None
        spans.append((first, last))
        at = start + len(text)
    if spans[-1][1] >= len(tokens):
        return None  # nothing after the last passage to end the prompt on
    split, done = [], fixed
    for first, last in spans:
        last = max(first + 1, last - reread)  # a passage's last `reread` tokens are read in context, with the rest
        split += [(tokens[done:first], None), (tokens[first:last], ",".join(map(str, tokens[first:last])))]
        done = last
    split.append((tokens[done:], None))
    return tokens, fixed, split


def prefill(llm, states: PassageStates, messages, passages: list[tuple[str, str]], after: str, reread: int = 0) -> bool:
    """`passages`: (collection, text) in the prompt's order. True when the prompt is now in the model's cache;
    False where it cannot be built so (the caller's reading then reads it whole)."""
    found = pieces(llm, messages, [text for _, text in passages], after, reread)
    if found is None:
        return False
    tokens, fixed, split = found
    llama = llm._llama  # noqa: SLF001
    if len(tokens) + 1 > llama.n_ctx() or max(len(piece) for piece, _ in split) > llama.n_batch:
        return False  # read whole, where a prompt too long is reported as always
    collections = iter(collection for collection, _ in passages)
    memory = llama_cpp.llama_get_memory(llama.ctx)
    with llm._lock:  # noqa: SLF001
        try:
            _build(llm, states, memory, tokens, fixed, split, collections)
        except RuntimeError:  # llama.cpp refused a step: start the cache afresh, the prompt is read whole
            llama_cpp.llama_memory_clear(memory, True)
            llama.n_tokens = 0
            return False
    return True


def _build(llm, states, memory, tokens, fixed, split, collections) -> None:
    """The instructions (kept from the last prompt where they are the same), then each piece in order."""
    llama = llm._llama  # noqa: SLF001
    llm._reuse_cache(tokens[:fixed], keep_last=0)  # noqa: SLF001
    at, fresh = time.perf_counter(), fixed - llama.n_tokens
    llama.eval(tokens[llama.n_tokens: fixed])  # also drops every cell after the instructions
    llm._count("read", fresh, at)  # noqa: SLF001
    position = fixed
    for piece, text in split:
        if text is None:
            if piece:
                at = time.perf_counter()
                _decode(llama, piece, position, 0, logits=position + len(piece) == len(tokens))
                llm._count("read", len(piece), at)  # noqa: SLF001
        else:
            key = state_key(llm.model_key, tokens[:fixed], next(collections), text)
            state = states.get(key)
            if state is None or not _put_back(llama, state):
                at = time.perf_counter()
                states.put(key, _read_apart(llama, memory, fixed, piece))
                llm._count("read", len(piece), at)  # noqa: SLF001
                llm._counts["passages_read"] += 1  # noqa: SLF001
            else:
                llm._counts["passages_kept"] += 1  # noqa: SLF001
            llama_cpp.llama_memory_seq_add(memory, 1, fixed, fixed + len(piece), position - fixed)
            llama_cpp.llama_memory_seq_cp(memory, 1, 0, -1, -1)
            llama_cpp.llama_memory_seq_rm(memory, 1, -1, -1)
        position += len(piece)
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    llama._requires_eval = False  # noqa: SLF001 - the last position's logits are live


def _decode(llama, tokens: list[int], start: int, seq: int, logits: bool) -> None:
    batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
    try:
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + i, 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits and i == len(tokens) - 1
        batch.n_tokens = len(tokens)
        if llama_cpp.llama_decode(llama.ctx, batch) != 0:
            raise RuntimeError("llama.cpp could not read the prompt")
        llama_cpp.llama_synchronize(llama.ctx)
    finally:
        llama_cpp.llama_batch_free(batch)


def _read_apart(llama, memory, fixed: int, piece: list[int]) -> bytes:
    """The passage read right after the instructions, in sequence 1 (which then holds its cells only)."""
    llama_cpp.llama_memory_seq_cp(memory, 0, 1, 0, fixed)
    _decode(llama, piece, fixed, 1, logits=False)
    llama_cpp.llama_memory_seq_rm(memory, 1, 0, fixed)
    size = llama_cpp.llama_state_seq_get_size(llama.ctx, 1)
    buffer = (ctypes.c_uint8 * size)()
    return bytes(buffer[: llama_cpp.llama_state_seq_get_data(llama.ctx, buffer, size, 1)])


def _put_back(llama, state: bytes) -> bool:
    """A kept state into sequence 1 (emptied first by llama.cpp); False when llama.cpp refuses it."""
    source = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    return llama_cpp.llama_state_seq_set_data(llama.ctx, source, len(state), 1) == len(state)
