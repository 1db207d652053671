"""How fast llama.cpp reads prompts and writes tokens on this machine, with and without flash attention,
and what the refusal checks cost on a prompt the size of the default context.

    .venv/bin/python benchmarks/llm_speed.py [--model qwen2.5-1.5b] [--prompt-tokens 400] [--runs 3]

Prompt reading is what answer latency mostly depends on: a context of N tokens costs N / (read speed) s.
"""

import argparse
import statistics
import time

from llama_cpp import Llama

from rag.answer import FILLER, NOT_FOUND, build_prompt
from rag.chunks import Chunk
from rag.llm import LlamaCppLLM
from rag.models import resolve_model_path
from rag.settings import Settings


def measure(path, flash_attn: bool, prompt_tokens: int, new_tokens: int, runs: int, threads: int) -> tuple[float, float]:
    llm = Llama(str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, flash_attn=flash_attn, verbose=False)
    text = FILLER * 40
    tokens = llm.tokenize(text.encode())[:prompt_tokens]
    read, write = [], []
    for _ in range(runs):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        read.append(prompt_tokens / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(new_tokens):  # one token at a time, as in generation
            llm.eval([llm.sample(temp=0.0)])
        write.append(new_tokens / (time.perf_counter() - started))
    return statistics.median(read), statistics.median(write)


def refusal_checks(path, runs: int, threads: int) -> tuple[float, float]:
    """Seconds to read a prompt of 7 passages (~400 tokens) and get P(NOT FOUND), without and with the
    question's log-probability; each run has new sources, so nothing but the instructions is cached."""
    llm = LlamaCppLLM(path, n_ctx=2048, n_threads=threads)
    question = "When did the committee review the accounts of the society?"
    llm.start_probability(build_prompt("", []), NOT_FOUND)
    timings: dict[bool, list[float]] = {False: [], True: []}
    for run in range(runs * 2):
        with_logprob = bool(run % 2)
        passages = [Chunk(id=str(i), document_id="d", collection="c", source="minutes.txt", index=i, start=0, end=0,
                          text=f"Meeting {run * 7 + i}. " + FILLER * 2) for i in range(7)]
        prompt = build_prompt(question, passages)
        started = time.perf_counter()
        if with_logprob:
            llm.mean_logprob(prompt, question)
        llm.start_probability(prompt, NOT_FOUND)
        timings[with_logprob].append(time.perf_counter() - started)
    return statistics.median(timings[False]), statistics.median(timings[True])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundled model name or GGUF path (default: RAG_LLM_MODEL)")
    parser.add_argument("--prompt-tokens", type=int, default=400)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    path = resolve_model_path(args.model or settings.llm_model, settings.models_dir)
    print(f"{path.name}, n_threads={settings.llm_threads}, {args.prompt_tokens}-token prompt, median of {args.runs}")
    for flash_attn in (False, True):
        read, write = measure(path, flash_attn, args.prompt_tokens, args.new_tokens, args.runs, settings.llm_threads)
        print(f"flash_attn={flash_attn!s:5}  reads {read:6.1f} tokens/s  writes {write:5.1f} tokens/s")
    alone, both = refusal_checks(path, args.runs, settings.llm_threads)
    print(f"read a 7-passage prompt and P(NOT FOUND): {alone:.2f} s; with the question's log-prob too: {both:.2f} s")


if __name__ == "__main__":
    main()
