from fastapi import APIRouter, status
from pydantic import BaseModel

from service.deps import LibraryDep
from service.schemas import Text, errors

router = APIRouter(responses=errors(), tags=["collections"])


class CollectionIn(BaseModel):
    name: Text


class CollectionOut(BaseModel):
    name: str
    documents: int  # ingested ones


@router.get("/collections", response_model=list[CollectionOut])
def list_collections(library: LibraryDep):
    """Your collections, with how many documents each holds."""
    return library.collections()


@router.post("/collections", status_code=status.HTTP_201_CREATED, response_model=CollectionOut,
             responses=errors(409))
def create_collection(library: LibraryDep, body: CollectionIn):
    """A new, empty collection (409 if it exists). Uploads, chat and documents name it with `collection`."""
    return library.create_collection(body.name)


@router.delete("/collections/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_collection(library: LibraryDep, name: str) -> None:
    """The collection and all its documents (the default collection is emptied and stays)."""
    library.delete_collection(name)
