"""What an answer returns (its steps' own types are in rag.answer.steps)."""

from rag.answer.steps import Answer, By, Context, Plan, Reason, Reply

__all__ = ["Answer", "By", "Context", "Plan", "Reason", "Reply"]
