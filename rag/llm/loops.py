"""Small models decoding greedily can repeat a line until the token limit: find it, stop, keep one copy."""

from collections.abc import Iterable, Iterator


def without_loops(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces' text up to where it starts repeating itself (see `loop_start`), when the model loops;
    nothing of the copies after the first is passed on: text that repeats earlier text waits until it
    turns out to be new."""
    text, sent = "", 0
    for piece in pieces:
        text += piece
        end = loop_start(text)
        if end is not None:
            if end > sent:
                yield text[sent:end]
            return
        ready = len(text) - _repeated_tail(text)
        if ready > sent:
            yield text[sent:ready]
            sent = ready
    if len(text) > sent:
        yield text[sent:]


def _repeated_tail(text: str) -> int:
    """Length of the longest end of the text that also occurs earlier in it."""
    size = 0
    while size < len(text) - 1 and text.find(text[-size - 1 :]) < len(text) - size - 1:
        size += 1
    return size


def loop_start(text: str, shortest: int = 20, longest: int = 300, copies: int = 3, long: int = 60) -> int | None:
    """Where the text starts repeating itself, when it ends with `copies` back-to-back copies of a stretch
    (small models decoding greedily can repeat a line until the token limit): the end of the first copy.
    A stretch of `long` characters or more is a loop at its second copy: a cycle of several list lines
    fills a long answer's token limit before its third copy, and no answer says the same lines twice."""
    for size in range(shortest, min(longest, len(text) // 2) + 1):
        needed = 2 if size >= long else copies
        tail = text[-size:]
        if size * needed <= len(text) and text.endswith(tail * needed) and any(c.isalpha() for c in tail):
            start = len(text) - (needed - 1) * size
            while start >= 2 * size and text[start - 2 * size : start - size] == tail:
                start -= size
            line_end = text.find("\n", start, start + size)  # a loop found mid-line keeps that line whole
            return line_end if line_end > 0 and text[start - 1] != "\n" else start
    return None
