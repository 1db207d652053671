"""What kept passage readings cost and save (issue 35), through the service's own path (rag.llm.prefill): the
disk a passage's key/value state takes per token and per 1,000 chunks, and the seconds to put a context of
passages into the model's cache with nothing kept (each read apart and kept) and with all kept (put back).

    .venv/bin/python benchmarks/passage_state.py [--model qwen2.5-1.5b] [--passages 7] [--runs 3]

Exactness (a passage put back where it was read gives the answer read fresh) is a test:
tests/integration/test_kept_readings.py. What reading passages apart costs in quality: `rag eval` with
RAG_PASSAGE_CACHE_MB (docs/BENCHMARKS.md).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rag.answer import FILLER, build_prompt  # noqa: E402
from rag.answer.prompt import SOURCES  # noqa: E402
from rag.chunks import Chunk  # noqa: E402
from rag.llm import LlamaCppLLM  # noqa: E402
from rag.llm.passage_states import PassageStates  # noqa: E402
from rag.models import resolve_model_path  # noqa: E402
from rag.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--passages", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    llm = LlamaCppLLM(resolve_model_path(args.model, settings.models_dir), settings.llm_context, settings.llm_threads)
    llm.keep_passages(None)
    cold, warm, sizes = [], [], []
    for run in range(args.runs):
        states = llm.passage_states = PassageStates(Path(tempfile.mkdtemp()), 2**40)
        words = (FILLER * 20).split()
        passages = [Chunk(str(i), "d", "c", f"minutes-{run}.txt", " ".join(words[i * 40:(i + 1) * 40]) + f" ({run})",
                          i, 0, 0) for i in range(args.passages)]
        prompt = build_prompt("When did the committee meet?", passages)
        kept = [(p.collection, p.text) for p in passages]
        for timed in (cold, warm):
            llm._llama.reset()  # noqa: SLF001 - nothing shared between the two: the instructions are read by both
            at = time.perf_counter()
            if not llm.prefill(prompt, kept, SOURCES):
                raise SystemExit("the prompt could not be split into its passages with this model's tokenizer")
            timed.append(time.perf_counter() - at)
        sizes.append(states.size() / sum(len(llm._llama.tokenize(t.encode(), add_bos=False)) for _, t in kept))  # noqa: SLF001
    per_token = statistics.median(sizes)
    print(f"{args.model}: a passage's kept state takes {per_token / 1024:.1f} KiB a token; "
          f"{per_token * settings.chunk_tokens * 1000 / 2**30:.2f} GiB per 1,000 chunks of {settings.chunk_tokens} tokens")
    print(f"{args.passages} passages into the cache: nothing kept {statistics.median(cold):.2f} s, all kept "
          f"{statistics.median(warm):.2f} s (median of {args.runs}; both read the labels and the question)")


if __name__ == "__main__":
    main()
