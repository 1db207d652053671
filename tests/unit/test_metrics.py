import pytest

from evals.metrics import answer_in, exact_match, f1, first_hit_rank, normalize, percentile
from evals.runner import Result, Row


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  an   apple, a pear  ", "apple pear"),
        ("Théâtre", "théâtre"),
        ("1,000.5 km", "10005 km"),
        ("", ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "prediction,references,em,f",
    [
        ("the Eiffel Tower", ["Eiffel Tower"], 1.0, 1.0),
        ("Eiffel", ["Eiffel Tower"], 0.0, 2 * (1 * 0.5) / 1.5),
        ("Paris France", ["France", "Paris"], 0.0, 2 * (0.5 * 1) / 1.5),
        ("London", ["Paris"], 0.0, 0.0),
        ("10th and 11th centuries", ["in the 10th and 11th centuries", "10th and 11th centuries"], 1.0, 1.0),
        ("", ["Paris"], 0.0, 0.0),
    ],
)
def test_exact_match_and_f1_take_the_best_reference(prediction, references, em, f):
    assert exact_match(prediction, references) == em
    assert f1(prediction, references) == pytest.approx(f)


def test_answer_in_matches_whole_normalised_words_only():
    passages = ["Normandy is a region in France.", "The Normans came from Denmark, Iceland and Norway."]
    assert answer_in(passages, ["France"])
    assert answer_in(passages, ["denmark iceland and norway"])
    assert answer_in(passages, ["the France"])  # articles are dropped on both sides
    assert not answer_in(passages, ["Franc"])
    assert not answer_in(passages, ["Sweden"])
    assert not answer_in([], ["France"])


def test_first_hit_rank():
    assert first_hit_rank([False, True, True]) == 0.5
    assert first_hit_rank([True]) == 1.0
    assert first_hit_rank([False, False]) == 0.0


def test_percentile_interpolates():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([], 50) == 0.0


def test_answered_when_retrieved_counts_long_answers_by_their_document():
    rows = [
        Row("short, answer in context, answered", False, answer_hit=True, doc_hit=True, refused=False),
        Row("short, answer missing though its document is there", False, answer_hit=False, doc_hit=True,
            refused=True),
        Row("long, document in context, refused", False, doc_hit=True, refused=True),
        Row("long, document in context, answered", False, doc_hit=True, refused=False),
        Row("long, document missing", False, doc_hit=False, refused=True),
    ]
    for row in rows:
        row.answer_s, row.em, row.f1 = 1.0, 0.0, 0.0
    summary = Result("mixed", {}, rows).summary()
    assert summary["answered_when_retrieved"] == round(2 / 3, 4) and summary["false_refusals"] == round(1 / 3, 4)


def test_eval_store_is_rebuilt_when_chunking_changes(monkeypatch, tmp_path):
    import ingest.chunking
    from evals.datasets import Dataset
    from evals.runner import eval_settings
    from rag.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path)
    dataset = Dataset("tiny", [], [])
    store = eval_settings(settings, dataset).data_dir
    assert store.parent == tmp_path / "eval" and store.name.startswith("tiny-")
    assert eval_settings(settings.model_copy(update={"chunk_tokens": 32}), dataset).data_dir != store
    monkeypatch.setattr(ingest.chunking, "VERSION", ingest.chunking.VERSION + 1)
    assert eval_settings(settings, dataset).data_dir != store


def test_two_datasets_of_the_same_name_get_stores_of_their_own(tmp_path):
    from evals.datasets import Dataset
    from evals.runner import eval_settings
    from rag.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path / "store")
    stores = []
    for folder, content in (("a", '{"question": "q1"}\n'), ("b", '{"question": "q1"}\n'), ("c", '{"question": "q2"}\n')):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "questions.jsonl").write_text(content)
        stores.append(eval_settings(settings, Dataset("questions", [], [], source=tmp_path / folder /
                                                      "questions.jsonl")).data_dir)
    assert len(set(stores)) == 3  # other paths, same content; other content
    (tmp_path / "a" / "questions.jsonl").write_text('{"question": "q3"}\n')  # edited in place
    again = eval_settings(settings, Dataset("questions", [], [], source=tmp_path / "a" / "questions.jsonl"))
    assert again.data_dir != stores[0]


def test_all_gold_documents_are_counted_for_questions_that_need_several(tmp_path):
    from evals.datasets import Dataset, Question
    from evals.runner import score

    from rag.chunks import Chunk
    from rag.retrieval import Retrieved

    class Retriever:
        from rag.settings import Settings

        settings = Settings(_env_file=None, data_dir=tmp_path)

        def __init__(self, sources):
            self.sources = sources

        def retrieve(self, *args, **kwargs):
            return Retrieved([Chunk(s, s, "c", s, "text", 0, 0, 0) for s in self.sources], 0.5)

    dataset = Dataset("hotpot", [], [])
    q = Question("Were A and B of the same nationality?", ["yes"], ["A.txt", "B.txt"])
    one = score(dataset, q, Retriever(["/d/A.txt", "/d/C.txt"]), None, None)
    both = score(dataset, q, Retriever(["/d/B.txt", "/d/A.txt"]), None, None)
    assert (one.doc_hit, one.all_docs_hit) == (True, False) and (both.doc_hit, both.all_docs_hit) == (True, True)
    assert Result("hotpot", {}, [one, both]).summary()["all_docs_recall"] == 0.5


def test_groundedness_counts_facts_and_long_answer_sentences_the_cited_passages_lack():
    from evals.grounded import groundedness
    from rag.chunks import Chunk

    source = ("Revenue grew 12% to $4.2 billion in the third quarter, driven by cloud services. "
              "Operating costs rose because of higher salaries.")
    cited = [Chunk("c", "d", "x", "q3.pdf", source, 0, 0, len(source))]
    assert groundedness("$4.2 billion [1]", cited).unsupported_facts == []
    assert groundedness("$5.1 billion [1]", cited).unsupported_facts == ["5.1"]
    assert groundedness("Revenue was reported by Globex [1]", cited).unsupported_facts == ["Globex"]

    grounded = groundedness("Revenue grew 12% to $4.2 billion, driven by cloud services [1]. Operating costs rose "
                            "because of higher salaries [1].", cited, long=True)
    assert (grounded.sentences, grounded.unsupported_sentences) == (2, 0)
    mixed = groundedness("Revenue grew 12% driven by cloud services [1]. Management expects strong demand across "
                         "European markets next year [1]. Costs rose in 2019 [1]. Yes.", cited, long=True)
    assert (mixed.sentences, mixed.unsupported_sentences) == (3, 2)  # made-up outlook; a year no source has
    assert groundedness("Costs rose [1]. Fine.", cited, long=True).sentences == 0  # too short to judge


def test_the_document_name_page_and_headings_the_prompt_shows_are_known_and_list_numbers_are_not_facts():
    from rag.answer.grounding import check
    from rag.chunks import Chunk

    text = "Net sales increased 11% to $143.1 billion."
    p = Chunk("c", "d", "x", "/filings/2023 Q3 AMZN.pdf", text, 0, 0, len(text), page=4,
              headings="Item 2 > Results of Operations")
    answer = "According to the 2023 Q3 AMZN 10-Q (page 4, Results of Operations):\n1. Net sales rose 11%.\n2. To $143.1 billion."
    assert check(answer, [p]).unsupported == ["10"]  # only "10-Q", the form's name, is not in what it read
    assert check("Net sales rose 12% [1]", [p]).unsupported == ["12"]
