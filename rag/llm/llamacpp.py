"""A GGUF model in this process through llama-cpp-python (pinned exactly: this uses its private state)."""

import contextlib
import os
import re
import threading
import time

from rag.errors import BackendUnavailable, ContextTooLong
from rag.llm.base import Messages


class TimedLock:
    """A lock that tells how long it has been held: /health reports a model busy for too long."""

    def __init__(self):
        self._lock = threading.Lock()
        self._since: float | None = None

    def __enter__(self):
        self._lock.acquire()
        self._since = time.monotonic()
        return self

    def __exit__(self, *exc):
        self._since = None
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def held_for(self) -> float:
        since = self._since
        return time.monotonic() - since if since is not None else 0.0


class LlamaCppLLM:
    """A GGUF model in this process. Prompts are formatted with the model's own chat template and the
    KV cache of the previous prompt is reused, so a shared instruction prefix is read only once."""

    def __init__(self, model_path, n_ctx: int = 4096, n_threads: int = 2, flash_attn: bool = True):
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as e:
            raise BackendUnavailable("llama-cpp-python is not installed: pip install llama-cpp-python") from e
        self.name = str(model_path).rsplit("/", 1)[-1]
        self._args = (model_path, n_threads, flash_attn)
        self._lock = TimedLock()
        self._counts = {"read_tokens": 0, "read_s": 0.0, "written_tokens": 0, "write_s": 0.0}
        self.passage_states, self.reread = None, 0
        try:
            self._llama = Llama(
                model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                n_batch=512, flash_attn=flash_attn, verbose=False,
            )
        except ValueError as e:
            raise BackendUnavailable(f"cannot load the model {model_path}: {e}") from e
        template = self._llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendUnavailable(f"{self.name} has no chat template: use an instruction-tuned model")
        text = self._llama._model.token_get_text  # noqa: SLF001 - the same call Llama makes for its formatter
        eos, bos = self._llama.token_eos(), self._llama.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=template, eos_token=text(eos) if eos != -1 else "", bos_token=text(bos) if bos != -1 else "",
        )
        self._controls = _control_texts(self._llama._model)  # noqa: SLF001

    def reader(self, n_ctx: int = 2048) -> "LlamaCppLLM":
        """Another reader of the same model file with a context of its own: it checks answers while this one
        writes, without disturbing its cache. The weights are mapped from the file, so shared, not copied."""
        path, threads, flash = self._args
        return LlamaCppLLM(path, n_ctx, threads, flash)

    def _format(self, messages: Messages):
        """The prompt in the model's template. A message's text never becomes the template's control tokens:
        the prompt is read with them (special=True), so a document holding "<|im_end|><|im_start|>system"
        would otherwise close the turn its text is in and open one of its own."""
        if self._controls is not None:
            messages = [{**m, "content": self._controls.sub(_defang, m["content"])} for m in messages]
        return self._formatter(messages=messages)

    def _tokens(self, messages: Messages) -> tuple[list[int], list[str]]:
        formatted = self._format(messages)
        tokens = self._llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=False, special=True)
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, stop

    def keep_passages(self, states, reread: int = 0) -> None:
        """Keep each passage's reading in `states` and put it back instead of reading the passage again
        (rag.llm.prefill). The context gets a second sequence, one cache for both, to read passages apart in."""
        from llama_cpp import _internals

        llama = self._llama
        with self._lock:
            params = llama.context_params
            params.n_seq_max, params.kv_unified = 2, True
            old = llama._ctx  # noqa: SLF001
            llama._ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)  # noqa: SLF001
            old.close()
            llama.n_tokens = 0
        self.passage_states, self.reread = states, reread
        self._counts |= {"passages_kept": 0, "passages_read": 0}

    def prefill(self, messages: Messages, passages: list[tuple[str, str]], after: str) -> bool:
        """The prompt into the cache, its passages (collection, text) from their kept readings; False when they
        are not kept or the prompt cannot be built so (it is then read whole, as always)."""
        if self.passage_states is None:
            return False
        from rag.llm.prefill import prefill

        return prefill(self, self.passage_states, messages, passages, after, self.reread)

    @property
    def model_key(self) -> str:
        """The model file as it is now: a file replaced under the same name is another model."""
        info = os.stat(self._args[0])
        return f"{self.name}:{info.st_size}:{info.st_mtime_ns}"

    def prompt_tokens(self, messages: Messages) -> int:
        return len(self._tokens(messages)[0])

    def reading(self) -> dict[str, float]:
        """What this context has read and written so far: prompt tokens read fresh and their seconds, tokens
        written and theirs, by its own clock (llama.cpp's counters give a read's time to whichever call next
        waits for the CPU). An answer's share is the difference across it."""
        return dict(self._counts)

    def _count(self, kind: str, tokens: int, since: float) -> None:
        self._counts["read_tokens" if kind == "read" else "written_tokens"] += tokens
        self._counts["read_s" if kind == "read" else "write_s"] += time.perf_counter() - since

    def busy_for(self) -> float:
        """Seconds the model has been held by one call (0 when free)."""
        return self._lock.held_for()

    def _fits(self, tokens: list[int], to_write: int) -> None:
        # llama.cpp may round the context up (128 -> 256); the token buffer keeps the size asked for.
        limit = min(self._llama.n_ctx(), self._llama.context_params.n_ctx)
        if len(tokens) + to_write > limit:
            raise ContextTooLong(f"the question with its sources is {len(tokens)} tokens: more than the model reads "
                                 f"at once ({limit} with {to_write} for the answer); ask a shorter one")

    def stream(self, messages, max_tokens, stop=None, avoid_start=None, temperature: float = 0.0):
        tokens, template_stop = self._tokens(messages)
        self._fits(tokens, min(max_tokens, 32))  # llama.cpp shortens the answer to what is left
        with self._lock:  # one llama context: one generation at a time
            if avoid_start:  # the first token is the likeliest one that does not begin `avoid_start`
                logits = self._last_logits(tokens)
                logits[list(self._start_tokens(avoid_start))] = -float("inf")
                first = int(logits.argmax())
                if first == self._llama.token_eos():
                    return
                yield self._llama.detokenize([first]).decode("utf-8", errors="ignore")
                tokens, max_tokens = tokens + [first], max_tokens - 1
                if max_tokens <= 0:  # llama.cpp reads 0 as "no limit"
                    return
            parts = self._llama.create_completion(
                tokens, max_tokens=max_tokens, temperature=temperature, stop=(stop or []) + template_stop, stream=True,
            )
            while True:
                at = time.perf_counter()
                part = next(parts, None)
                if part is None:
                    break
                self._count("write", 1, at)
                text = part["choices"][0]["text"]
                if text:
                    yield text

    def _reuse_cache(self, tokens: list[int], keep_last: int) -> None:
        """Keep the cached prefix shared with `tokens`, leaving at least their last `keep_last` to evaluate."""
        llama = self._llama
        same = 0
        for a, b in zip(llama.input_ids[: llama.n_tokens].tolist(), tokens):
            if a != b:
                break
            same += 1
        llama.n_tokens = min(same, len(tokens) - keep_last)

    def _is_cached(self, tokens: list[int]) -> bool:
        """The last decode ended on exactly these tokens, so its last logits are theirs."""
        llama = self._llama
        fresh = not llama._requires_eval  # noqa: SLF001 - set when the cache is reset, restored or cut
        return fresh and llama.n_tokens == len(tokens) and llama.input_ids[: len(tokens)].tolist() == tokens

    def _logits(self, index: int):
        import llama_cpp
        import numpy as np

        pointer = llama_cpp.llama_get_logits_ith(self._llama.ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(self._llama.n_vocab(),)).astype(np.float64)

    def _start_tokens(self, start: str) -> set[int]:
        """First tokens of the ways a reply can begin with `start`."""
        return {
            ids[0]
            for variant in (start, " " + start, start.capitalize(), start.lower())
            if (ids := self._llama.tokenize(variant.encode("utf-8"), add_bos=False, special=False))
        }

    def _last_logits(self, tokens: list[int]):
        """Logits after the whole prompt, reading only what the cache does not hold (call under the lock)."""
        llama = self._llama
        if not self._is_cached(tokens):
            self._reuse_cache(tokens, keep_last=1)
            at, fresh = time.perf_counter(), len(tokens) - llama.n_tokens
            llama.eval(tokens[llama.n_tokens :])
            self._count("read", fresh, at)
        return self._logits(-1)

    def start_probability(self, messages: Messages, start: str) -> float:
        """Probability that the reply begins with `start` (its first token), read from the logits of the
        prompt's last position; the prompt stays cached for the generation that follows."""
        import numpy as np

        tokens, _ = self._tokens(messages)
        self._fits(tokens, 1)
        with self._lock:
            logits = self._last_logits(tokens)
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        return float(sum(probabilities[i] for i in self._start_tokens(start)))

    def mean_logprob(self, messages: Messages, text: str) -> float | None:
        """Mean log-probability of the tokens of `text`, where it last occurs in the last message, given
        everything before it. The whole prompt is read once and stays cached for what follows."""
        import numpy as np

        scores = self.logprobs(messages, text)
        return float(np.mean(scores)) if scores else None

    def logprobs(self, messages: Messages, text: str) -> list[float] | None:
        """The log-probability of each token of `text`, where it last occurs in the messages, given everything
        before it (None when it cannot be read there)."""
        import llama_cpp
        import numpy as np

        tokens, _ = self._tokens(messages)
        self._fits(tokens, 1)
        llama = self._llama
        formatted = self._format(messages).prompt
        at = formatted.rfind(text)
        if not text or at < 0:
            return None
        head = formatted[:at].rstrip(" ")
        start = len(llama.tokenize(head.encode("utf-8"), add_bos=False, special=True))
        span = llama.tokenize(formatted[len(head) : at + len(text)].encode("utf-8"), add_bos=False, special=False)
        if start < 1 or tokens[start : start + len(span)] != span or len(tokens) - start + 1 > llama.n_batch:
            return None  # the text does not fall on token boundaries here, or is too far from the end
        with self._lock:
            self._reuse_cache(tokens, keep_last=len(tokens) - start + 1)
            at, fresh = time.perf_counter(), len(tokens) - llama.n_tokens
            llama.eval(tokens[llama.n_tokens : max(0, len(tokens) - llama.n_batch)])  # usually nothing: the rest fits
            n_past = llama.n_tokens
            rest = tokens[n_past:]  # one batch, one pass over the weights
            first = start - 1 - n_past  # the position that predicts the text's first token
            batch = llama_cpp.llama_batch_init(len(rest), 0, 1)
            try:
                for i, token in enumerate(rest):
                    batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, n_past + i, 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = first <= i < first + len(span) or i == len(rest) - 1
                batch.n_tokens = len(rest)
                if llama_cpp.llama_decode(llama.ctx, batch) != 0:
                    raise BackendUnavailable("llama.cpp could not read the prompt")
                scores = []
                for i, token in enumerate(span):
                    logits = self._logits(first + i)
                    top = logits.max()
                    scores.append(float(logits[token] - top - np.log(np.exp(logits - top).sum())))
                self._count("read", fresh, at)
            finally:
                llama_cpp.llama_batch_free(batch)
            llama.input_ids[n_past : len(tokens)] = rest
            llama.n_tokens = len(tokens)
            llama._requires_eval = False  # noqa: SLF001 - the last position's logits are live, as after eval()
        return scores


def _control_texts(model) -> "re.Pattern | None":
    """A pattern matching the text of every control token (<|im_start|>, <|eot_id|>, </s> ...) of the model."""
    import llama_cpp

    texts = set()
    for token in range(model.n_vocab()):
        if model.token_get_attr(token) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL:
            with contextlib.suppress(UnicodeDecodeError):
                if len(found := model.token_get_text(token)) > 1:
                    texts.add(found)
    return re.compile("|".join(map(re.escape, sorted(texts, key=len, reverse=True)))) if texts else None


def _defang(match: "re.Match") -> str:
    """The same characters to read, split by a zero-width space: no longer the control token."""
    text = match.group(0)
    return text[0] + "\u200b" + text[1:]
