"""LLM seam: llama.cpp in process (default), any OpenAI-compatible server, or a fake for tests."""

import json
import re
import threading
from collections.abc import Iterator
from typing import Protocol

from rag.errors import BackendUnavailable

Messages = list[dict[str, str]]


class LLM(Protocol):
    name: str

    def stream(self, messages: Messages, max_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        """The reply, piece by piece; greedy decoding so answers are reproducible."""
        ...


def generate(llm: LLM, messages: Messages, max_tokens: int, stop: list[str] | None = None) -> str:
    return "".join(llm.stream(messages, max_tokens, stop))


class LlamaCppLLM:
    def __init__(self, model_path, n_ctx: int = 4096, n_threads: int = 2):
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise BackendUnavailable("llama-cpp-python is not installed: pip install llama-cpp-python") from e
        self.name = str(model_path).rsplit("/", 1)[-1]
        self._lock = threading.Lock()
        self._llama = Llama(
            model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
            n_batch=512, verbose=False,
        )

    def stream(self, messages, max_tokens, stop=None):
        with self._lock:  # one llama context: one generation at a time
            for part in self._llama.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, stop=stop, stream=True,
            ):
                text = part["choices"][0]["delta"].get("content")
                if text:
                    yield text


class OpenAICompatibleLLM:
    """llama.cpp server, Ollama, vLLM or anything that speaks /v1/chat/completions."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120):
        import httpx

        self.name = model
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
        )

    def stream(self, messages, max_tokens, stop=None):
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


class FakeLLM:
    """Deterministic stand-in: replies queued with enqueue(), otherwise quotes the first source.

    Every prompt it receives is kept in .history for assertions.
    """

    name = "fake"

    def __init__(self, replies: list[str] | None = None):
        self.replies = list(replies or [])
        self.history: list[Messages] = []

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages, max_tokens, stop=None):
        self.history.append(messages)
        if self.replies:
            reply = self.replies.pop(0)
        else:
            match = re.search(r"\[1\][^\n]*\n(.+?)(?:\.|\n|$)", messages[-1]["content"])
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
        return LlamaCppLLM(path, n_ctx=settings.llm_context, n_threads=settings.llm_threads)
    raise BackendUnavailable(f"unknown RAG_LLM_BACKEND {backend!r}: use llamacpp, openai or fake")
