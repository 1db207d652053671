import pytest

from rag.answer.grounding import check
from rag.answer.refusal import Hesitation, RefusalPolicy, is_refusal
from rag.chunks import Chunk
from rag.llm import FakeLLM


@pytest.mark.parametrize(
    "text,refused",
    [
        # refusals: the marker the prompt asks for, or a sentence about the sources or the answerer
        ("NOT FOUND", True),
        ("NOT FOUND.", True),
        ("Not found", True),
        ("", True),
        ("The sources do not contain this information.", True),
        ("The provided sources do not mention the boiling point of mercury.", True),
        ("The context does not specify when the bridge opened.", True),
        ("The documents don't say.", True),
        ("There is no information about dental coverage in the sources.", True),
        ("No information about this is given in the documents.", True),
        ("I don't know.", True),
        ("I cannot answer this question from the sources.", True),
        ("The question is unanswerable from these passages.", True),
        # answers, negative ones included
        ("Paris [1]", False),
        ("2 million people [1]", False),
        ("It was not until 1990 [2]", False),
        ("The plan does not include dental coverage [2]", False),
        ("The plan does not include dental coverage", False),
        ("No, employees cannot carry over unused vacation days [1]", False),
        ("Dental coverage is not included [3]", False),
        ("The company did not pay a dividend in 2022 [1].", False),
        ("Not until the board approves it [1]", False),
        ("None [2]", False),
        ("No [1]", False),
        ("Pets are not allowed in the office [4]", False),
        ("The garage does not open on Sundays [1]", False),
        ("There is no parking fee for employees [2]", False),
    ],
)
def test_is_refusal(text, refused):
    assert is_refusal(text) is refused


def test_a_long_answer_refuses_only_by_its_opening_sentence():
    assert RefusalPolicy.refuses("NOT FOUND. The sources say nothing about it.", "long")
    assert not RefusalPolicy.refuses("Revenue grew 5% [1]. The sources do not say why.", "long")
    assert RefusalPolicy.refuses("Revenue grew 5% [1]. The sources do not say why.", "short")


class Generator:
    """A backend with generation only: no scoring capability."""

    name = "plain"

    def stream(self, messages, max_tokens, stop=None, avoid_start=None):
        yield "Paris [1]"


def test_the_hesitation_is_read_where_the_backend_can_score():
    prompt = [{"role": "user", "content": "Q?"}]
    assert RefusalPolicy(Generator()).hesitation(prompt, "Q?") == Hesitation()
    assert RefusalPolicy(FakeLLM(refusal_chance=0.1, question_logprob=-2.0)).hesitation(prompt, "Q?") == \
        Hesitation(0.1, -2.0)


def chunk(text):
    return Chunk("c1", "d1", "c", "/x/a.txt", text, 0, 0, len(text))


@pytest.mark.parametrize(
    "answer,unsupported,ok",
    [
        ("25 days [1]", [], True),
        ("1,200 employees [1]", [], True),  # figures compared without separators
        ("30 days [1]", ["30"], False),  # a figure the source does not have
        ("Led by Margaret Smith [1]", ["Margaret"], False),  # a name it does not have
        ("John Smith", [], True),
        ("Yes [1]", [], True),  # not extractive, and a sentence's first capital is not a name
        ("No, only 25 days [1]", [], True),
        ("It was led by Margaret Smith [1]", ["Margaret"], False),
        ("The annual leave is generous and flexible for everyone", [], False),  # mostly its own words
        ("Per the handbook (Document a), 25 days [1]", [], True),  # the prompt's label and the document's name
    ],
)
def test_grounding_finds_figures_names_and_words_the_sources_lack(answer, unsupported, ok):
    passage = chunk("Employees get 25 days of annual leave. John Smith leads the 1200 employees of HR.")
    found = check(answer, [passage], "How much leave do employees get?")
    assert found.unsupported == unsupported and found.ok(0.5) is ok
