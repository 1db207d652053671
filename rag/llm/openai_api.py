"""Any OpenAI-compatible server (llama.cpp server, Ollama, vLLM, a hosted GPT-4-class API), through the
official `openai` SDK: its typed errors and Retry-After handling instead of hand-parsed SSE."""

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from rag.errors import BackendUnavailable, RateLimited
from rag.llm.base import Messages


def api_base(url: str) -> str:
    """The base URL as the SDK takes it: a bare server address (`http://host:8080`) gets `/v1`."""
    url = url.rstrip("/")
    return url if urlsplit(url).path not in ("", "/") else f"{url}/v1"


def retry_after(error) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if it said."""
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None  # an HTTP date: treat as unknown
    return None


@dataclass
class Usage:
    """Tokens a call spent, as the server reported them (0 when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reported: bool = False


class OpenAICompatibleLLM:
    """Generation, plus the probability of a reply's start where the server reports log-probabilities.
    `max_retries` is the SDK's own (it honours Retry-After); a caller with its own rate limiter passes 0
    and retries through the limiter."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120,
                 max_retries: int = 2):
        try:
            import openai
        except ImportError as e:
            raise BackendUnavailable("the openai package is not installed: pip install openai") from e
        self.name = model
        self.base_url = api_base(base_url)
        # Local servers need no key, but the SDK insists on one.
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "none", timeout=timeout,
                                     max_retries=max_retries)

    def _errors(self, error) -> Exception:
        import openai

        if isinstance(error, openai.RateLimitError):
            return RateLimited(f"{self.name} at {self.base_url} is rate-limiting us", retry_after(error))
        if isinstance(error, openai.APIConnectionError):  # includes timeouts
            return BackendUnavailable(f"cannot reach the LLM server at {self.base_url}: {error}")
        if isinstance(error, openai.APIStatusError):
            return BackendUnavailable(f"LLM server answered {error.status_code}: {str(error)[:200]}")
        return error

    def stream(self, messages, max_tokens, stop=None, avoid_start=None, temperature: float = 0.0):
        import openai  # avoid_start: not in the chat API

        try:
            chunks = self._client.chat.completions.create(
                model=self.name, messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True,
                stop=stop or None,
            )
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as e:
            raise self._errors(e) from e

    def complete(self, messages: Messages, max_tokens: int, stop: list[str] | None = None) -> tuple[str, Usage]:
        """The whole reply at once, with the tokens the server says it spent."""
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.name, messages=messages, max_tokens=max_tokens, temperature=0, stop=stop or None,
            )
        except openai.OpenAIError as e:
            raise self._errors(e) from e
        text = (response.choices[0].message.content or "") if response.choices else ""
        usage = Usage()
        if response.usage:
            usage = Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0, True)
        return text, usage

    def start_probability(self, messages, start):
        """From the server's top log-probabilities of the first token, where it reports them."""
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.name, messages=messages, max_tokens=1, temperature=0, logprobs=True, top_logprobs=20,
            )
            top = response.choices[0].logprobs.content[0].top_logprobs
        except openai.OpenAIError as e:
            raise self._errors(e) from e
        except (AttributeError, IndexError, TypeError):
            return None  # the server does not report log-probabilities
        first = start.split()[0].upper()
        return sum(math.exp(t.logprob) for t in top if t.token.strip() and first.startswith(t.token.strip().upper()))

    def mean_logprob(self, messages, text):
        return None  # chat endpoints do not score the prompt's own tokens
