"""Conversations and their messages in the catalog (ConversationRecords)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import delete, insert, select, update

from rag.catalog import tables as t
from rag.catalog.base import Conversation, Message
from rag.catalog.tables import now


def _text(value: str) -> str:
    """PostgreSQL's text holds no NUL character; a question may."""
    return value.replace("\x00", "")


class SqlConversations:
    def __init__(self, catalog):
        self.catalog = catalog  # its transactions and error mapping

    def _mine(self, conversation_id: str, tenant: str, owner: str):
        c = t.conversations.c
        return (c.id == conversation_id) & (c.tenant == tenant) & (c.owner == owner)

    def create(self, tenant: str, owner: str, collection: str, title: str) -> Conversation:
        stamp = now(precise=True)
        made = Conversation(uuid.uuid4().hex, tenant, owner, collection, _text(title), stamp, stamp)
        with self.catalog._write() as conn:  # noqa: SLF001 - the catalog's own transactions
            conn.execute(insert(t.conversations).values(**made.__dict__))
        return made

    def list(self, tenant: str, owner: str) -> list[Conversation]:
        c = t.conversations.c
        query = select(t.conversations).where(c.tenant == tenant, c.owner == owner).order_by(c.updated_at.desc())
        with self.catalog._read() as conn:  # noqa: SLF001
            return [Conversation(**row) for row in conn.execute(query).mappings()]

    def get(self, conversation_id: str, tenant: str, owner: str) -> Conversation | None:
        query = select(t.conversations).where(self._mine(conversation_id, tenant, owner))
        with self.catalog._read() as conn:  # noqa: SLF001
            row = conn.execute(query).mappings().first()
        return Conversation(**row) if row else None

    def messages(self, conversation_id: str) -> list[Message]:
        m = t.conversation_messages.c
        query = select(t.conversation_messages).where(m.conversation_id == conversation_id).order_by(m.id)
        with self.catalog._read() as conn:  # noqa: SLF001
            rows = conn.execute(query).mappings().all()
        return [Message(r["role"], r["content"], json.loads(r["citations"]), r["answered_by"], bool(r["refused"]),
                        r["created_at"], r["id"]) for r in rows]

    def add(self, conversation_id: str, message: Message) -> None:
        stamp = now(precise=True)
        with self.catalog._write() as conn:  # noqa: SLF001
            conn.execute(insert(t.conversation_messages).values(
                conversation_id=conversation_id, role=message.role, content=_text(message.content),
                citations=json.dumps(message.citations), answered_by=message.answered_by,
                refused=int(message.refused), created_at=stamp))
            conn.execute(update(t.conversations).where(t.conversations.c.id == conversation_id)
                         .values(updated_at=stamp))

    def drop_last_answers(self, conversation_id: str) -> None:
        m = t.conversation_messages.c
        last_question = (select(m.id).where(m.conversation_id == conversation_id, m.role == "user")
                         .order_by(m.id.desc()).limit(1).scalar_subquery())
        with self.catalog._write() as conn:  # noqa: SLF001
            conn.execute(delete(t.conversation_messages).where(
                m.conversation_id == conversation_id, m.role == "assistant", m.id > last_question))

    def rename(self, conversation_id: str, tenant: str, owner: str, title: str) -> bool:
        with self.catalog._write() as conn:  # noqa: SLF001
            done = conn.execute(update(t.conversations).where(self._mine(conversation_id, tenant, owner))
                                .values(title=_text(title)))
        return done.rowcount > 0

    def delete(self, conversation_id: str, tenant: str, owner: str) -> bool:
        with self.catalog._write() as conn:  # noqa: SLF001
            gone = conn.execute(delete(t.conversations).where(self._mine(conversation_id, tenant, owner)))
            if gone.rowcount:
                conn.execute(delete(t.conversation_messages)
                             .where(t.conversation_messages.c.conversation_id == conversation_id))
        return gone.rowcount > 0
