"""LLM seam: llama.cpp in process (default), any OpenAI-compatible server, or a fake for tests."""

import json
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Protocol

from rag.errors import BackendUnavailable

Messages = list[dict[str, str]]


class LLM(Protocol):
    name: str

    def stream(
        self, messages: Messages, max_tokens: int, stop: list[str] | None = None, avoid_start: str | None = None,
    ) -> Iterator[str]:
        """The reply, piece by piece; greedy decoding so answers are reproducible. With `avoid_start` the
        reply does not begin with that word, where the backend allows it."""
        ...

    def start_probability(self, messages: Messages, start: str) -> float | None:
        """Probability that the reply starts with `start`; None when the backend cannot tell."""
        ...

    def mean_logprob(self, messages: Messages, text: str) -> float | None:
        """Mean log-probability of `text` (in the last message) given what precedes it; None when the
        backend cannot tell."""
        ...


def generate(llm: LLM, messages: Messages, max_tokens: int, stop: list[str] | None = None) -> str:
    return "".join(llm.stream(messages, max_tokens, stop))


def without_loops(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces' text up to where it starts repeating itself (see `loop_start`), when the model loops;
    nothing of the copies after the first is passed on: text that repeats earlier text waits until it
    turns out to be new."""
    text, sent = "", 0
    for piece in pieces:
        text += piece
        end = loop_start(text)
        if end is not None:
            if end > sent:
                yield text[sent:end]
            return
        ready = len(text) - _repeated_tail(text)
        if ready > sent:
            yield text[sent:ready]
            sent = ready
    if len(text) > sent:
        yield text[sent:]


def _repeated_tail(text: str) -> int:
    """Length of the longest end of the text that also occurs earlier in it."""
    size = 0
    while size < len(text) - 1 and text.find(text[-size - 1 :]) < len(text) - size - 1:
        size += 1
    return size


def loop_start(text: str, shortest: int = 20, longest: int = 300, copies: int = 3) -> int | None:
    """Where the text starts repeating itself, when it ends with `copies` back-to-back copies of a stretch
    (small models decoding greedily can repeat a line until the token limit): the end of the first copy."""
    for size in range(shortest, min(longest, len(text) // copies) + 1):
        tail = text[-size:]
        if text.endswith(tail * copies) and any(c.isalpha() for c in tail):
            start = len(text) - (copies - 1) * size
            while start >= 2 * size and text[start - 2 * size : start - size] == tail:
                start -= size
            return start
    return None


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
        self._lock = threading.Lock()
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

    def _tokens(self, messages: Messages) -> tuple[list[int], list[str]]:
        formatted = self._formatter(messages=messages)
        tokens = self._llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=False, special=True)
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, stop

    def stream(self, messages, max_tokens, stop=None, avoid_start=None):
        tokens, template_stop = self._tokens(messages)
        with self._lock:  # one llama context: one generation at a time
            if avoid_start:  # the first token is the likeliest one that does not begin `avoid_start`
                logits = self._last_logits(tokens)
                logits[list(self._start_tokens(avoid_start))] = -float("inf")
                first = int(logits.argmax())
                if first == self._llama.token_eos():
                    return
                yield self._llama.detokenize([first]).decode("utf-8", errors="ignore")
                tokens, max_tokens = tokens + [first], max_tokens - 1
            for part in self._llama.create_completion(
                tokens, max_tokens=max_tokens, temperature=0.0, stop=(stop or []) + template_stop, stream=True,
            ):
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
            llama.eval(tokens[llama.n_tokens :])
        return self._logits(-1)

    def start_probability(self, messages: Messages, start: str) -> float:
        """Probability that the reply begins with `start` (its first token), read from the logits of the
        prompt's last position; the prompt stays cached for the generation that follows."""
        import numpy as np

        tokens, _ = self._tokens(messages)
        with self._lock:
            logits = self._last_logits(tokens)
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        return float(sum(probabilities[i] for i in self._start_tokens(start)))

    def mean_logprob(self, messages: Messages, text: str) -> float | None:
        """Mean log-probability of the tokens of `text`, where it last occurs in the last message, given
        everything before it. The whole prompt is read once and stays cached for what follows."""
        import llama_cpp
        import numpy as np

        tokens, _ = self._tokens(messages)
        llama = self._llama
        formatted = self._formatter(messages=messages).prompt
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
                    scores.append(logits[token] - top - np.log(np.exp(logits - top).sum()))
            finally:
                llama_cpp.llama_batch_free(batch)
            llama.input_ids[n_past : len(tokens)] = rest
            llama.n_tokens = len(tokens)
            llama._requires_eval = False  # noqa: SLF001 - the last position's logits are live, as after eval()
        return float(np.mean(scores))


class OpenAICompatibleLLM:
    """llama.cpp server, Ollama, vLLM or anything that speaks /v1/chat/completions."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120):
        import httpx

        self.name = model
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
        )

    def stream(self, messages, max_tokens, stop=None, avoid_start=None):  # avoid_start: not in the chat API
        import httpx

        body = {"model": self.name, "messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True}
        if stop:
            body["stop"] = stop
        try:
            with self._client.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise BackendUnavailable(f"LLM server answered {response.status_code}: {response.text[:200]}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choices = json.loads(data).get("choices") or [{}]
                    text = (choices[0].get("delta") or {}).get("content")
                    if text:
                        yield text
        except httpx.HTTPError as e:
            raise BackendUnavailable(f"cannot reach the LLM server at {self._client.base_url}: {e}") from e

    def start_probability(self, messages, start):
        """From the server's top log-probabilities of the first token, where it reports them."""
        import math

        import httpx

        body = {"model": self.name, "messages": messages, "max_tokens": 1, "temperature": 0,
                "logprobs": True, "top_logprobs": 20}
        try:
            response = self._client.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            top = response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except httpx.HTTPError as e:
            raise BackendUnavailable(f"cannot reach the LLM server at {self._client.base_url}: {e}") from e
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        first = start.split()[0].upper()
        return sum(math.exp(t["logprob"]) for t in top if t["token"].strip() and first.startswith(t["token"].strip().upper()))

    def mean_logprob(self, messages, text):
        return None  # chat endpoints do not score the prompt's own tokens


class FakeLLM:
    """Deterministic stand-in: replies queued with enqueue(), otherwise quotes the first source.

    Every prompt it receives is kept in .history for assertions; `refusal_chance` is what
    start_probability answers and `question_logprob` what mean_logprob answers.
    """

    name = "fake"

    def __init__(self, replies: list[str] | None = None, refusal_chance: float = 0.0,
                 question_logprob: float | None = None):
        self.replies = list(replies or [])
        self.refusal_chance = refusal_chance
        self.question_logprob = question_logprob
        self.history: list[Messages] = []
        self.avoided: list[str | None] = []  # the avoid_start of each stream() call

    def start_probability(self, messages, start):
        return self.refusal_chance

    def mean_logprob(self, messages, text):
        return self.question_logprob

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages, max_tokens, stop=None, avoid_start=None):
        self.history.append(messages)
        self.avoided.append(avoid_start)
        if self.replies:
            reply = self.replies.pop(0)
        else:
            match = re.search(r"\[1\] (?:\([^)\n]*\) )?(.+?)(?:\.|\n|$)", messages[-1]["content"])
            reply = f"{match.group(1).strip()} [1]" if match else "I don't know."
        for word in reply.split(" "):
            yield word + " "


def get_llm(settings) -> LLM:
    backend = settings.llm_backend
    if backend == "fake":
        return FakeLLM()
    if backend == "openai":
        if not settings.llm_url:
            raise BackendUnavailable("RAG_LLM_BACKEND=openai needs RAG_LLM_URL (e.g. http://127.0.0.1:8080)")
        return OpenAICompatibleLLM(settings.llm_url, settings.llm_model, settings.llm_api_key)
    if backend == "llamacpp":
        from rag.models import resolve_model_path

        path = resolve_model_path(settings.llm_model, settings.models_dir)
        return LlamaCppLLM(path, settings.llm_context, settings.llm_threads, settings.llm_flash_attn)
    raise BackendUnavailable(f"unknown RAG_LLM_BACKEND {backend!r}: use llamacpp, openai or fake")
