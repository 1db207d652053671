import itertools
import json

from fastapi import APIRouter

from rag.errors import RagError
from service.deps import AnsweringDep
from service.errors import stream_error
from service.schemas import STREAM, ChatRequest, ChatResponse, errors
from service.streaming import ClosingStreamingResponse

router = APIRouter(responses=errors(), tags=["chat"])


@router.post("/chat", response_model=ChatResponse, responses={**errors(404), **STREAM})
def chat(answering: AnsweringDep, request: ChatRequest):
    """Answer from the documents, with citations; `refused` is true when they do not contain the answer.

    With `conversation_id` (POST /conversations) the question and its answer are kept in that conversation.
    With `stream: true` the answer comes as server-sent events: `waiting` (`{ahead, expected_s}`) while other
    answers hold the model, one `sources` event with the passages the
    model reads (`{"sources": [{number, document_id, name, page, headings, excerpt}]}`), `token` events
    with `{"text"}` (joined, exactly the final `answer`), then one `done` event with the full response.
    """
    if request.conversation_id:
        events = answering.converse(request.conversation_id, request.question, request.style, request.cache,
                                    request.regenerate)
    else:
        events = answering.chat(request.as_messages(), request.collection, request.top_k, request.document_ids,
                                request.style, request.cache)
    first = next(events)  # errors before the first event (an unknown collection, a busy model) get their status
    if request.stream:

        def sse():
            try:
                for event in itertools.chain([first], events):
                    kind = event.pop("type")
                    yield f"event: {kind}\ndata: {json.dumps(event)}\n\n"
            except RagError as e:  # after the first byte the status is sent: report in the stream
                yield f"event: error\ndata: {json.dumps(stream_error('/chat', e))}\n\n"

        return ClosingStreamingResponse(events, sse())
    *_, done = itertools.chain([first], events)
    done.pop("type")
    return done

