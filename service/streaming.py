"""Server-sent events from the answer's generator, closed as soon as the response ends for any reason.

A client that drops a stream leaves the generator suspended where it last yielded, holding the in-process
model's lock, until the garbage collector finds it (minutes, seen: every later /chat waited). Closing it
when the response ends, however it ends, lets the model go at once.
"""

import time
from collections.abc import Generator, Iterator

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse


class ClosingStreamingResponse(StreamingResponse):
    def __init__(self, events: Generator, content: Iterator[str], **kwargs):
        super().__init__(content, media_type="text/event-stream", **kwargs)
        self.events = events

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await run_in_threadpool(_close, self.events)


def _close(generator: Generator) -> None:
    for _ in range(600):  # a read cancelled mid-way still runs in its thread: close it at its next yield
        try:
            generator.close()
            return
        except ValueError:  # generator already executing
            time.sleep(0.05)
