"""One answer at a time on the model, in order of arrival, with a bounded line (rag/answer/turns.py)."""

import threading
import time

import pytest

from rag.answer.turns import Turns
from rag.errors import ServiceBusy


def hold(turns: Turns, name: str, order: list, seconds: float, started: threading.Event | None = None):
    with turns.turn():
        if started:
            started.set()
        order.append(name)
        time.sleep(seconds)


def test_answers_take_turns_in_order_of_arrival():
    turns, order = Turns(max_waiting=8), []
    first = threading.Event()
    threads = [threading.Thread(target=hold, args=(turns, "a", order, 0.2, first))]
    threads[0].start()
    first.wait()
    for name in "bcd":
        threads.append(threading.Thread(target=hold, args=(turns, name, order, 0.01)))
        threads[-1].start()
        time.sleep(0.03)  # arrive in this order
    assert turns.waiting() == 3
    for t in threads:
        t.join()
    assert order == ["a", "b", "c", "d"] and turns.waiting() == 0


def test_past_the_bound_a_question_is_refused_at_once_with_a_retry_after():
    turns, order = Turns(max_waiting=1), []
    first = threading.Event()
    holder = threading.Thread(target=hold, args=(turns, "a", order, 0.3, first))
    holder.start()
    first.wait()
    waiter = threading.Thread(target=hold, args=(turns, "b", order, 0.0))
    waiter.start()
    time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(ServiceBusy) as refused:
        with turns.turn():
            pass
    assert time.monotonic() - started < 0.05 and refused.value.retry_after >= 1
    holder.join()
    waiter.join()
    assert order == ["a", "b"]


def test_a_question_that_waited_too_long_gives_up_and_the_line_moves_on():
    turns, order = Turns(max_waiting=8, max_wait_s=0.1), []
    first = threading.Event()
    holder = threading.Thread(target=hold, args=(turns, "a", order, 0.3, first))
    holder.start()
    first.wait()
    with pytest.raises(ServiceBusy, match="waited 0.1 s"):
        with turns.turn():
            pass
    holder.join()
    with turns.turn():  # the abandoned place in line does not block the next one
        order.append("after")
    assert order == ["a", "after"]


def test_a_waiting_answer_says_its_place_and_leaves_the_line_when_dropped():
    turns = Turns(max_waiting=8)
    first = turns.join()
    assert turns.wait(first, 0)  # nobody before it: its turn at once
    second, third = turns.join(), turns.join()
    places = turns.waits(third, every_s=0.02)
    assert next(places) == 2 and turns.ahead() == 3
    places.close()  # its client went away while it waited
    fourth = turns.join()
    assert turns.ahead_of(fourth) == 2  # the one gone is not ahead of anyone
    turns.leave(first, 1.0)
    assert turns.wait(second, 0) and not turns.wait(fourth, 0)
    turns.leave(second, 1.0)
    assert turns.wait(fourth, 0)  # the abandoned place was skipped
