"""A caller's conversations: its tenant's, and its key's where keys exist. Another's is a 404 like a missing one."""

from __future__ import annotations

from ingest.library import TenantLibrary
from rag.catalog import Conversation, Message
from rag.errors import DocumentNotFound, RagError

TITLE_CHARS = 80


class ConversationNotFound(DocumentNotFound):
    """No such conversation for this caller."""


def title_of(question: str) -> str:
    title = " ".join(question.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


class Conversations:
    def __init__(self, records, library: TenantLibrary, owner: str):
        self.records, self.library, self.owner = records, library, owner
        self.tenant = library.tenant

    def list(self) -> list[dict]:
        return [_summary(c) for c in self.records.list(self.tenant, self.owner)]

    def create(self, collection: str | None, title: str = "") -> dict:
        name = collection or self.library.settings.collection
        self.library.collection(name)  # it must exist (404 otherwise)
        return _summary(self.records.create(self.tenant, self.owner, name, title.strip()))

    def record(self, conversation_id: str) -> Conversation:
        found = self.records.get(conversation_id, self.tenant, self.owner)
        if found is None:
            raise ConversationNotFound(f"no conversation {conversation_id}")
        return found

    def get(self, conversation_id: str) -> dict:
        """The conversation with its messages; a citation of a document deleted since is marked `gone`."""
        convo = self.record(conversation_id)
        messages = self.records.messages(convo.id)
        ids = {c["document_id"] for m in messages for c in m.citations}
        gone = {i for i in ids if not self._exists(i)}
        out = []
        for m in messages:
            citations = [{**c, "gone": c["document_id"] in gone} for c in m.citations]
            out.append({"role": m.role, "content": m.content, "citations": citations, "answered_by": m.answered_by,
                        "refused": m.refused, "created_at": m.created_at})
        return {**_summary(convo), "messages": out}

    def _exists(self, document_id: str) -> bool:
        try:
            return self.library.document(document_id).status == "ingested"
        except DocumentNotFound:
            return False

    def rename(self, conversation_id: str, title: str) -> dict:
        if not self.records.rename(conversation_id, self.tenant, self.owner, title.strip()):
            raise ConversationNotFound(f"no conversation {conversation_id}")
        return _summary(self.record(conversation_id))

    def delete(self, conversation_id: str) -> None:
        if not self.records.delete(conversation_id, self.tenant, self.owner):
            raise ConversationNotFound(f"no conversation {conversation_id}")

    def ask(self, conversation_id: str, question: str | None, again: bool) -> tuple[Conversation, list[dict]]:
        """The conversation and its messages for the model, the question added (or, `again`, its last answer
        removed to give it anew)."""
        convo = self.record(conversation_id)
        if again:
            self.records.drop_last_answers(convo.id)
        elif question:
            self.records.add(convo.id, Message("user", question, [], None, False, ""))
            if not convo.title:
                self.records.rename(convo.id, self.tenant, self.owner, title_of(question))
        history = [{"role": m.role, "content": m.content} for m in self.records.messages(convo.id)]
        if not history or history[-1]["role"] != "user":
            raise RagError("this conversation has no question to answer: ask one")
        return convo, history

    def answered(self, conversation_id: str, done: dict) -> None:
        self.records.add(conversation_id, Message("assistant", done["answer"], done["citations"],
                                                  done["answered_by"], done["refused"], ""))


def _summary(c: Conversation) -> dict:
    return {"id": c.id, "collection": c.collection, "title": c.title, "created_at": c.created_at,
            "updated_at": c.updated_at}
