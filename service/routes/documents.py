from pathlib import Path

import mimetypes
from urllib.parse import quote

from fastapi import APIRouter, Form, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from rag.tenants import collection_name
from service.deps import LibraryDep
from service.schemas import DocumentOut, JobOut, PassageOut, UploadResponse, errors

router = APIRouter(responses=errors(), tags=["documents"])


def _out(doc) -> DocumentOut:
    return DocumentOut(**{**doc.__dict__, "collection": collection_name(doc.collection)}, name=Path(doc.source).name)


@router.post("/documents", status_code=status.HTTP_202_ACCEPTED, response_model=UploadResponse,
             responses=errors(404, 415, 507))
async def upload(library: LibraryDep, files: list[UploadFile],
                 collection: str | None = Form(None)):
    """Upload one or more files (PDF, text, Markdown, HTML, DOCX); they are ingested in the background.

    Poll `GET /jobs/{job_id}` for progress. Re-uploading a file with the same name replaces it.
    """
    job_id, collection, stored = await run_in_threadpool(library.upload, [(f.filename, f.file) for f in files],
                                                         collection)
    return UploadResponse(job_id=job_id, collection=collection,
                          documents=[{"document_id": s["document_id"], "name": s["name"]} for s in stored])


@router.get("/jobs/{job_id}", response_model=JobOut, responses=errors(404))
def get_job(library: LibraryDep, job_id: str):
    """Progress of an ingest job: status (queued, running, done, failed) and each file's outcome."""
    return library.job(job_id)


@router.get("/documents", response_model=list[DocumentOut], responses=errors(404))
def list_documents(library: LibraryDep, collection: str | None = None, status: str | None = None):
    """Your documents, optionally of one collection or status (ingested, failed, duplicate, pending)."""
    return [_out(d) for d in library.documents(collection, status)]


@router.get("/documents/{document_id}", response_model=DocumentOut, responses=errors(404))
def get_document(library: LibraryDep, document_id: str):
    return _out(library.document(document_id))


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_document(library: LibraryDep, document_id: str) -> None:
    """Remove a document and its chunks from both indexes."""
    library.delete_document(document_id)


@router.get("/documents/{document_id}/file", responses={**errors(404), 200: {"content": {"application/pdf": {}}}})
def get_file(library: LibraryDep, document_id: str) -> Response:
    """The document's file as uploaded. A PDF opens in the browser (`#page=N` opens it at a page); other types
    download, never rendered here (an HTML file's scripts must not run on this service's pages)."""
    data, name = library.original(document_id)
    pdf = name.lower().endswith(".pdf")
    kind = "application/pdf" if pdf else (mimetypes.guess_type(name)[0] or "application/octet-stream")
    disposition = f"{'inline' if pdf else 'attachment'}; filename*=UTF-8''{quote(name)}"
    headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff", "Cache-Control": "private"}
    if not pdf:  # a PDF's own viewer would be blocked by it; anything else never runs a script here
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return Response(data, media_type=kind, headers=headers)


@router.get("/documents/{document_id}/passages", response_model=list[PassageOut], responses=errors(404))
def get_passages(library: LibraryDep, document_id: str):
    """The document's passages in its order (what the page shows around a cited one)."""
    return library.passages(document_id)
