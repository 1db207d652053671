"""The web page: a few static files served by the API itself (no build step, no CDN)."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parent.parent / "web"
router = APIRouter(include_in_schema=False)
assets = StaticFiles(directory=WEB)


@router.get("/")
def page() -> FileResponse:
    return FileResponse(WEB / "index.html")
