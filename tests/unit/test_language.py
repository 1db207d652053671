"""English rules stay English: a question's language decides whether they apply."""

import pytest

from rag.language import language, maybe_english
from rag.question import answer_style


@pytest.mark.parametrize("text,code", [
    ("Wann wurde die Universität von Chicago gegründet?", "de"),
    ("¿Cuántos habitantes tenía la ciudad en 1900?", "es"),
    ("Сколько жителей было в городе в 1900 году?", "ru"),
    ("芝加哥大学是哪一年成立的？", "zh"),
    ("How many people lived in the city in 1900?", "en"),
])
def test_the_language_of_a_question(text, code):
    assert language(text) == code


def test_text_without_letters_has_no_language():
    assert language("1,234 — 5.6 %") is None and maybe_english("1,234")


def test_open_question_rules_apply_to_english_only():
    assert answer_style("Why did the company's revenue change in 2023?") == "long"
    # An English instruction word inside a question in another language does not make it an English question.
    spanish = "Compare: ¿cómo cambiaron los ingresos de la empresa en 2023 respecto al año anterior?"
    assert answer_style(spanish) == "short"
    assert answer_style("Compare: ¿cómo cambiaron los ingresos?", "long") == "long"  # asked for: kept


def test_only_english_is_stemmed_in_the_word_index():
    from rag.text import STEM, index_terms, phrase_words, query_words

    assert index_terms("The companies were running late.") == (
        f"the companies were running late {STEM}the {STEM}compani {STEM}were {STEM}run {STEM}late")
    assert index_terms("Die Gemeinden meldeten steigende Einnahmen des Landes.") == (
        "die gemeinden meldeten steigende einnahmen des landes")
    assert query_words("Which companies are running?") == ["companies", "running", f"{STEM}compani", f"{STEM}run"]
    # A German question's words match words as written only: "die" does not find English text's "died" (stem die).
    assert query_words("Wer sang die Nationalhymne?") == ["wer", "sang", "die", "nationalhymne"]
    assert phrase_words("Apple Inc.") == ["apple", "inc"]
