"""Grounded answers: retrieve, prompt with numbered sources, answer locally or escalate, cite, cache."""

from rag.answer.citations import Citation, cite
from rag.answer.prompt import FILLER, NOT_FOUND, SYSTEM, SYSTEM_LONG, build_prompt, by_document, context_size
from rag.answer.refusal import REFUSAL, is_refusal
from rag.answer.service import AnswerService
from rag.answer.steps import Answer, By, Form, Reason
from rag.question import answer_style

__all__ = ["Answer", "AnswerService", "By", "Form", "Reason", "Citation", "FILLER", "NOT_FOUND", "REFUSAL", "SYSTEM",
           "SYSTEM_LONG",
           "answer_style", "build_prompt", "by_document", "cite", "context_size", "is_refusal"]
