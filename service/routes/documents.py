from pathlib import Path

from fastapi import APIRouter, Form, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from rag.errors import DocumentNotFound
from service.deps import ServicesDep
from service.schemas import DocumentOut, UploadResponse

router = APIRouter(tags=["documents"])


def _out(doc) -> DocumentOut:
    return DocumentOut(**doc.__dict__, name=Path(doc.source).name)


@router.post("/documents", status_code=status.HTTP_202_ACCEPTED, response_model=UploadResponse)
async def upload(services: ServicesDep, files: list[UploadFile], collection: str | None = Form(None)):
    """Upload one or more files (PDF, text, Markdown, HTML, DOCX); they are ingested in the background.

    Poll `GET /jobs/{job_id}` for progress. Re-uploading a file with the same name replaces it.
    """
    job_id, collection, stored = await run_in_threadpool(services.upload, [(f.filename, f.file) for f in files],
                                                         collection)
    return UploadResponse(job_id=job_id, collection=collection,
                          documents=[{"document_id": s["document_id"], "name": s["name"]} for s in stored])


@router.get("/jobs/{job_id}")
def get_job(services: ServicesDep, job_id: str) -> dict:
    """Progress of an ingest job: status (queued, running, done, failed) and each file's outcome."""
    job = services.jobs.get(job_id)
    if job is None:
        raise DocumentNotFound(f"no job {job_id}")
    return job


@router.get("/documents", response_model=list[DocumentOut])
def list_documents(services: ServicesDep, collection: str | None = None, status: str | None = None):
    """All documents, optionally of one collection or status (ingested, failed, duplicate, pending)."""
    if collection:
        services.collection(collection)
    return [_out(d) for d in services.catalog.list(collection, status)]


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(services: ServicesDep, document_id: str):
    doc = services.catalog.get(document_id)
    if doc is None:
        raise DocumentNotFound(f"no document {document_id}")
    return _out(doc)


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(services: ServicesDep, document_id: str) -> None:
    """Remove a document and its chunks from both indexes."""
    if not services.delete_document(document_id):
        raise DocumentNotFound(f"no document {document_id}")
