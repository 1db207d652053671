"""API keys, kept in the catalog as SHA-256 hashes. A key is 32 random bytes, so a plain hash is enough (a
slow password hash guards guessable secrets, which these are not) and lets a request find its key in one
indexed lookup."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import exists, insert, select, update

from rag.catalog import tables as t
from rag.catalog.tables import now
from rag.tenants import check_tenant

PREFIX = "rag-"


@dataclass
class ApiKey:
    id: str
    tenant: str
    prefix: str
    admin: bool
    created_at: str
    revoked_at: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, catalog):
        self.catalog = catalog  # its transactions and error mapping

    def create(self, tenant: str, admin: bool = False) -> tuple[ApiKey, str]:
        """The new key's record, and the key itself (never stored, never shown again)."""
        secret = PREFIX + secrets.token_urlsafe(32)
        row = {"id": secrets.token_hex(4), "tenant": check_tenant(tenant), "hash": _hash(secret),
               "prefix": secret[: len(PREFIX) + 6], "admin": int(admin), "created_at": now(), "revoked_at": None}
        with self.catalog._write() as conn:
            conn.execute(insert(t.api_keys).values(**row))
        return self._key(row), secret

    def list(self) -> list[ApiKey]:
        with self.catalog._read() as c:
            rows = c.execute(select(t.api_keys).order_by(t.api_keys.c.tenant, t.api_keys.c.created_at)).mappings()
            return [self._key(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        k = t.api_keys.c
        with self.catalog._write() as conn:
            done = conn.execute(update(t.api_keys).where(k.id == key_id, k.revoked_at.is_(None)).values(revoked_at=now()))
        return done.rowcount == 1

    def find(self, secret: str) -> ApiKey | None:
        """The active key this secret is, if any."""
        k = t.api_keys.c
        with self.catalog._read() as c:
            row = c.execute(select(t.api_keys).where(k.hash == _hash(secret), k.revoked_at.is_(None))).mappings().first()
        return self._key(row) if row else None

    def any_made(self) -> bool:
        """Whether a key was ever made: revoking the last one must not open the service to everyone."""
        with self.catalog._read() as c:
            return bool(c.execute(select(exists().where(t.api_keys.c.id.is_not(None)))).scalar())

    @staticmethod
    def _key(row) -> ApiKey:
        return ApiKey(id=row["id"], tenant=row["tenant"], prefix=row["prefix"], admin=bool(row["admin"]),
                      created_at=row["created_at"], revoked_at=row["revoked_at"])
