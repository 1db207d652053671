"""LLM seam: llama.cpp in process (default), any OpenAI-compatible server, or a fake for tests."""

from rag.errors import BackendUnavailable
from rag.llm.base import LLM, Messages, Scorer, generate, reading, scorer, second_reader
from rag.llm.fake import FakeLLM
from rag.llm.loops import loop_start, without_loops

__all__ = ["LLM", "Messages", "Scorer", "FakeLLM", "generate", "reading", "scorer", "second_reader", "loop_start",
           "without_loops", "get_llm", "LlamaCppLLM", "OpenAICompatibleLLM"]


def __getattr__(name: str):  # the backends import their libraries only when used
    if name == "LlamaCppLLM":
        from rag.llm.llamacpp import LlamaCppLLM

        return LlamaCppLLM
    if name == "OpenAICompatibleLLM":
        from rag.llm.openai_api import OpenAICompatibleLLM

        return OpenAICompatibleLLM
    raise AttributeError(name)


def get_llm(settings) -> LLM:
    backend = settings.llm_backend
    if backend == "fake":
        return FakeLLM()
    if backend == "openai":
        from rag.llm.openai_api import OpenAICompatibleLLM

        if not settings.llm_url:
            raise BackendUnavailable("RAG_LLM_BACKEND=openai needs RAG_LLM_URL (e.g. http://127.0.0.1:8080/v1)")
        return OpenAICompatibleLLM(settings.llm_url, settings.llm_model, settings.llm_api_key)
    if backend == "llamacpp":
        from rag.llm.llamacpp import LlamaCppLLM
        from rag.models import resolve_model_path

        path = resolve_model_path(settings.llm_model, settings.models_dir)
        return LlamaCppLLM(path, settings.llm_context, settings.llm_threads, settings.llm_flash_attn)
    raise BackendUnavailable(f"unknown RAG_LLM_BACKEND {backend!r}: use llamacpp, openai or fake")
