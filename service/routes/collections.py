from fastapi import APIRouter, status
from pydantic import BaseModel

from service.deps import CallerDep, ServicesDep
from service.schemas import Text, errors

router = APIRouter(responses=errors(), tags=["collections"])


class CollectionIn(BaseModel):
    name: Text


class CollectionOut(BaseModel):
    name: str
    documents: int  # ingested ones


@router.get("/collections", response_model=list[CollectionOut])
def list_collections(services: ServicesDep, caller: CallerDep):
    """Your collections, with how many documents each holds."""
    return services.collections(caller.tenant)


@router.post("/collections", status_code=status.HTTP_201_CREATED, response_model=CollectionOut,
             responses=errors(409))
def create_collection(services: ServicesDep, caller: CallerDep, body: CollectionIn):
    """A new, empty collection (409 if it exists). Uploads, chat and documents name it with `collection`."""
    return services.create_collection(body.name, caller.tenant)


@router.delete("/collections/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_collection(services: ServicesDep, caller: CallerDep, name: str) -> None:
    """The collection and all its documents (the default collection is emptied and stays)."""
    services.delete_collection(name, caller.tenant)
