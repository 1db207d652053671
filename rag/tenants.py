"""Tenants own collections. A collection is stored under a key that names its tenant, so every index keyed
by collection (documents, chunks in both indexes, jobs, cached answers) is scoped by construction; only the
edge turns a tenant's collection names into keys and back.

The tenant `default` (the single-user embedded service, and keys made for it) keeps plain names, as stores
made before tenants existed have them; another tenant's collection `docs` is stored as `TENANT.docs`. A
collection's name never holds a '.', so no tenant's key is another's."""

from rag.chunks import check_collection
from rag.errors import RagError

DEFAULT = "default"
SEPARATOR = "."


def check_tenant(tenant: str) -> str:
    try:
        return check_collection(tenant)
    except RagError:
        raise RagError(f"invalid tenant name {tenant!r}: use 1-63 letters, digits, '-' or '_', starting with a "
                       "letter or digit") from None


def collection_key(tenant: str, name: str) -> str:
    name = check_collection(name)
    return name if tenant == DEFAULT else f"{tenant}{SEPARATOR}{name}"


def check_key(key: str) -> str:
    """A collection's key as stored: NAME, or TENANT.NAME."""
    tenant, _, name = key.rpartition(SEPARATOR)
    if tenant:
        check_tenant(tenant)
    check_collection(name)
    return key


def owner(key: str) -> str:
    return key.split(SEPARATOR, 1)[0] if SEPARATOR in key else DEFAULT


def collection_name(key: str) -> str:
    """The name its tenant knows it by."""
    return key.split(SEPARATOR, 1)[1] if SEPARATOR in key else key
