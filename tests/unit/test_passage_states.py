import os
import time

from rag.llm.passage_states import PassageStates, state_key


def test_a_state_is_found_under_its_own_key_only(tmp_path):
    states = PassageStates(tmp_path, 10_000)
    key = state_key("model.gguf", [1, 2, 3], "tenant-a", "Employees get 28 days.")
    states.put(key, b"state of 28 days")
    assert states.get(key) == b"state of 28 days"
    assert states.get(state_key("model.gguf", [1, 2, 3], "tenant-a", "Employees get 30 days.")) is None  # edited
    assert states.get(state_key("model.gguf", [1, 2, 3], "tenant-b", "Employees get 28 days.")) is None  # tenant
    assert states.get(state_key("other.gguf", [1, 2, 3], "tenant-a", "Employees get 28 days.")) is None  # model
    assert states.get(state_key("model.gguf", [1, 2, 4], "tenant-a", "Employees get 28 days.")) is None  # prompt
    assert (states.hits, states.misses) == (1, 4)


def test_a_cut_or_altered_file_is_a_miss_and_is_removed(tmp_path):
    states = PassageStates(tmp_path, 10_000)
    for key, spoil in (("a" * 64, lambda b: b[:-3]), ("b" * 64, lambda b: b[:-1] + b"!"), ("c" * 64, lambda b: b"")):
        states.put(key, b"a passage's state")
        path = tmp_path / f"{key}.kv"
        path.write_bytes(spoil(path.read_bytes()))
        assert states.get(key) is None and not path.exists()


def test_the_size_bound_holds_and_the_least_recently_used_go_first(tmp_path):
    states = PassageStates(tmp_path, 1_100)  # three states of 300 bytes (and their headers)
    for i in range(3):
        states.put(f"{i:064d}", bytes(300))
        os.utime(tmp_path / f"{i:064d}.kv", (time.time() - 100 + i, time.time() - 100 + i))
    assert states.get(f"{0:064d}") is not None  # used: now the most recent
    states.put(f"{9:064d}", bytes(300))
    assert states.size() <= 1_100
    assert states.get(f"{1:064d}") is None and states.get(f"{0:064d}") is not None
    states.put("f" * 64, bytes(2_000))  # larger than the whole bound: not kept
    assert states.get("f" * 64) is None and states.size() <= 1_100


def test_a_state_that_cannot_be_written_is_simply_not_kept(tmp_path):
    states = PassageStates(tmp_path / "states", 10_000)
    (tmp_path / "states").rmdir()
    (tmp_path / "states").write_text("not a folder")  # writing under it fails, as on a full disk, even for root
    states.put("d" * 64, b"a passage's state")
    assert states.get("d" * 64) is None and states.misses == 1
