from typing import Annotated

from fastapi import Depends, Request

from ingest.library import TenantLibrary
from service.answering import Answering
from service.auth import Caller
from service.container import Services
from service.conversations import Conversations


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_caller(request: Request) -> Caller:
    """The caller GateKeeper admitted (401 without a valid key when auth is on, 429 past its rate limit)."""
    return request.state.caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_library(request: Request) -> TenantLibrary:
    """The caller's library: every collection, document and job it reaches is its tenant's."""
    return request.app.state.services.library.for_tenant(request.state.caller.tenant)


LibraryDep = Annotated[TenantLibrary, Depends(get_library)]


def get_conversations(request: Request, library: LibraryDep) -> Conversations:
    """The caller's conversations: its tenant's, and its key's where keys exist."""
    key = request.state.caller.key
    return Conversations(request.app.state.services.catalog.conversations, library, key.id if key else "")


ConversationsDep = Annotated[Conversations, Depends(get_conversations)]


def get_answering(request: Request, library: LibraryDep, conversations: ConversationsDep) -> Answering:
    services = request.app.state.services
    return Answering(services.answers, library, services.metrics, conversations)


AnsweringDep = Annotated[Answering, Depends(get_answering)]
