"""Request bodies bounded before they are read: a 2 GB upload used to be spooled whole before its 413."""

import json

from service.openai_api import error_body


class BodyLimit:
    """Pure ASGI middleware: uploads may be up to `upload_bytes`, any other body up to `json_bytes`. A
    declared Content-Length over the limit is answered 413 at once; a chunked body is counted as it comes
    and stopped where it passes the limit."""

    def __init__(self, app, upload_bytes: int, json_bytes: int):
        self.app = app
        self.upload_bytes = upload_bytes
        self.json_bytes = json_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.upload_bytes if scope["path"] == "/documents" else self.json_bytes
        what = "an upload" if limit == self.upload_bytes else "a request body"
        message = f"{what} may be at most {limit / 2**20:g} MB"
        declared = dict(scope["headers"]).get(b"content-length")
        responded = False

        async def too_large():
            nonlocal responded
            responded = True
            shape = error_body(413, message, "FileTooLarge") if scope["path"].startswith("/v1/") else {
                "error": "FileTooLarge", "detail": message}
            body = json.dumps(shape).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})

        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await too_large()
        seen = 0

        async def counted():
            nonlocal seen
            if responded:
                return {"type": "http.disconnect"}
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > limit:  # answered here; the app sees the client go, and its reply is dropped
                    await too_large()
                    return {"type": "http.disconnect"}
            return event

        async def guarded(message):
            if not responded:
                await send(message)

        await self.app(scope, counted, guarded)
