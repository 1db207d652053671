"""Can a passage's reading be kept and put back (issue 35)? With llama.cpp's per-sequence state (pinned
llama-cpp-python), for one model: the bytes a passage's key/value state takes per token and per 1,000 chunks,
the seconds to put a context's passages back from their states against reading them, and whether the greedy
answer after a state put back at the position it was read at is exactly the answer after reading it fresh.

    .venv/bin/python benchmarks/passage_state.py [--model qwen2.5-1.5b] [--passages 7] [--runs 3]

Each passage is read after the fixed instructions (its state then holds only its own cells), as a kept
reading would be. This measures the mechanism; it does not place passages at other positions (a shift) nor
measure what reading them apart costs in quality.
"""

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rag.answer import FILLER, build_prompt  # noqa: E402
from rag.models import resolve_model_path  # noqa: E402
from rag.settings import Settings  # noqa: E402

QUESTION = "How many days of paid vacation does an employee get?"
FACT = "Every employee has 28 days of paid vacation per calendar year; up to 5 unused days carry over. "


class Reader:
    def __init__(self, path: Path, threads: int):
        self.llama = Llama(str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, flash_attn=True,
                           verbose=False)
        self.memory = llama_cpp.llama_get_memory(self.llama.ctx)
        self.format = Jinja2ChatFormatter(template=self.llama.metadata["tokenizer.chat_template"], eos_token="",
                                          bos_token="")

    def tokens(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode(), add_bos=False, special=True)

    def state_of(self, prefix: list[int], passage: list[int]) -> bytes:
        """The passage read after `prefix`, its cells only."""
        self.llama.reset()
        self.llama.eval(prefix + passage)
        llama_cpp.llama_memory_seq_rm(self.memory, 0, 0, len(prefix))
        size = llama_cpp.llama_state_seq_get_size(self.llama.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        return bytes(buffer[: llama_cpp.llama_state_seq_get_data(self.llama.ctx, buffer, size, 0)])

    def put_back(self, state: bytes) -> None:
        """A state into sequence 1, then its cells shared with sequence 0 (setting a sequence empties it first)."""
        source = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_seq_set_data(self.llama.ctx, source, len(state), 1) != len(state):
            raise RuntimeError("llama.cpp did not take the state")
        llama_cpp.llama_memory_seq_cp(self.memory, 1, 0, -1, -1)
        llama_cpp.llama_memory_seq_rm(self.memory, 1, -1, -1)

    def greedy(self, n: int = 16) -> str:
        out = []
        for _ in range(n):
            token = self.llama.sample(temp=0.0)
            if token == self.llama.token_eos():
                break
            out.append(token)
            self.llama.eval([token])
        return self.llama.detokenize(out).decode(errors="ignore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--passages", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    reader = Reader(resolve_model_path(args.model, settings.models_dir), settings.llm_threads)
    prompt = reader.format(messages=build_prompt(QUESTION, [])).prompt
    cut = prompt.index("Question:")
    prefix, rest = reader.tokens(prompt[:cut]), reader.tokens(prompt[cut:])
    chunk = reader.tokens(FILLER * 20)[: settings.chunk_tokens]
    passages = [reader.tokens(f"[{i + 1}] ") + chunk for i in range(args.passages - 1)]
    passages.append(reader.tokens(f"[{args.passages}] {FACT}"))

    # Exactness: the last passage (the one with the answer), put back where it was read, against read fresh.
    fact = passages[-1]
    reader.llama.reset()
    reader.llama.eval(prefix)
    reader.llama.eval(fact)
    reader.llama.eval(rest)
    fresh = reader.greedy()
    state = reader.state_of(prefix, fact)
    reader.llama.reset()
    reader.llama.eval(prefix)
    reader.put_back(state)
    reader.llama.input_ids[len(prefix): len(prefix) + len(fact)] = fact
    reader.llama.n_tokens = len(prefix) + len(fact)
    reader.llama.eval(rest)
    kept = reader.greedy()

    per_token = len(state) / len(fact)
    print(f"{args.model}: a passage's state takes {per_token / 1024:.1f} KiB a token; "
          f"{per_token * settings.chunk_tokens * 1000 / 2**30:.2f} GiB per 1,000 chunks of {settings.chunk_tokens} tokens")
    print(f"greedy answer after the state put back: {kept!r}; read fresh: {fresh!r}; same: {kept == fresh}")

    # Speed: a context of `passages` chunks read after the instructions, against put back from their states
    # (each read apart, at the position right after the instructions: the time a shift would not change).
    states = [reader.state_of(prefix, p) for p in passages[:1]] * len(passages)
    read, put = [], []
    for _ in range(args.runs):
        reader.llama.reset()
        reader.llama.eval(prefix)
        at = time.perf_counter()
        reader.llama.eval([t for p in passages for t in p])
        read.append(time.perf_counter() - at)
        reader.llama.reset()
        reader.llama.eval(prefix)
        at = time.perf_counter()
        for s in states:
            reader.put_back(s)
        put.append(time.perf_counter() - at)
    tokens = sum(map(len, passages))
    print(f"{len(passages)} passages, {tokens} tokens: read {statistics.median(read):.2f} s, put back from states "
          f"{statistics.median(put):.3f} s ({statistics.median(read) / statistics.median(put):.0f}x faster; "
          f"{len(states[0]) * len(states) / 2**20:.1f} MiB of states)")


if __name__ == "__main__":
    main()
