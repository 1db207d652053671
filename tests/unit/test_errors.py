"""service/errors.py is the one table from errors to statuses and headers, for responses and streamed events."""

import json

import pytest

from service.openai_api import ModelNotFound
from rag.errors import (
    BackendUnavailable, CollectionNotFound, ContextTooLong, FileTooLarge, QuotaExceeded, RagError, ServiceBusy,
    UnsupportedFile,
)
from service.errors import Unauthorized, rag_error_response, status_of, stream_error


def every_error(cls=RagError):
    for sub in cls.__subclasses__():
        yield sub
        yield from every_error(sub)


def test_every_error_has_a_client_or_server_status():
    statuses = {cls.__name__: status_of(cls.__new__(cls)) for cls in every_error()}  # looked up by class
    assert statuses and all(400 <= status < 600 for status in statuses.values()), statuses


@pytest.mark.parametrize("error,status", [
    (CollectionNotFound("no collection"), 404), (FileTooLarge("big"), 413), (UnsupportedFile("odd"), 415),
    (QuotaExceeded("full"), 413), (ContextTooLong("long"), 400), (BackendUnavailable("away"), 503),
    (ModelNotFound("no model"), 404),
])
def test_an_error_takes_its_own_status_or_its_parents(error, status):
    assert status_of(error) == status


def test_headers_come_from_the_table_and_the_error():
    busy = rag_error_response("/chat", ServiceBusy("later", retry_after=2.4))
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert rag_error_response("/documents", Unauthorized("key")).headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/chat", "/v1/chat/completions"])
def test_a_streamed_error_says_what_the_response_would(path):
    error = ServiceBusy("the model is busy")
    assert stream_error(path, error) == json.loads(rag_error_response(path, error).body)
