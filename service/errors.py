"""The one table from errors to responses: ours are {error, detail}; under /v1, OpenAI's shape."""

from fastapi.responses import JSONResponse

from rag.errors import RagError
from service.openai_api import error_body


def error_response(path: str, status: int, name: str, detail, headers: dict | None = None) -> JSONResponse:
    if path.startswith("/v1/"):
        message = detail if isinstance(detail, str) else "; ".join(
            f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)
        status = 400 if status == 422 else status  # OpenAI says 400 for a malformed request
        return JSONResponse(error_body(status, message, name), status_code=status, headers=headers)
    return JSONResponse({"error": name, "detail": detail}, status_code=status, headers=headers)


def rag_error_response(path: str, exc: RagError) -> JSONResponse:
    headers = dict(getattr(exc, "headers", None) or {})
    if after := getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(max(1, round(after)))
    return error_response(path, exc.status_code, getattr(exc, "code", type(exc).__name__), str(exc), headers or None)
