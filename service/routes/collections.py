from fastapi import APIRouter, status
from pydantic import BaseModel

from service.deps import ServicesDep

router = APIRouter(tags=["collections"])


class CollectionIn(BaseModel):
    name: str


class CollectionOut(BaseModel):
    name: str
    documents: int  # ingested ones


@router.get("/collections", response_model=list[CollectionOut])
def list_collections(services: ServicesDep):
    """Every collection, with how many documents it holds."""
    return services.collections()


@router.post("/collections", status_code=status.HTTP_201_CREATED, response_model=CollectionOut)
def create_collection(services: ServicesDep, body: CollectionIn):
    """A new, empty collection (409 if it exists). Uploads, chat and documents name it with `collection`."""
    return services.create_collection(body.name)


@router.delete("/collections/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_collection(services: ServicesDep, name: str) -> None:
    """The collection and all its documents (the default collection is emptied and stays)."""
    services.delete_collection(name)
