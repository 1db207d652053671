from typing import Annotated

from fastapi import Depends, Request

from service.auth import Caller
from service.container import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_caller(request: Request, services: ServicesDep) -> Caller:
    """The caller's tenant (401 without a valid key when auth is on; 429 past their rate limit)."""
    caller = services.gate.admit(request.headers.get("authorization"), client_of(request), request.url.path)
    request.state.tenant = caller.tenant  # for the metrics' labels
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
