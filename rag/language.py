"""Which language a text is in (py3langid: a small model shipped in the package, ~0.2 ms a question). Rules
that are English word lists apply to English only, and not to text in another language."""

from functools import lru_cache

SURE = 0.9  # the share of its probability a language needs before a text counts as written in it
LIKELY = 0.5  # ... before English rules stop applying to it
LANGUAGES = ("ar bg ca cs da de el en es et fa fi fr he hi hr hu id it ja ko lt lv nb nl no pl pt ro ru sk sl sr sv th "
             "tr uk vi zh").split()


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # Among widely written languages only: their regional kin (Wu beside Chinese, Aragonese beside Spanish)
    # split a short question's probability, so that none was sure.
    identifier.set_languages(sorted(set(LANGUAGES) & set(identifier.nb_classes)))
    return identifier


def language(text: str) -> str | None:
    """The ISO 639 code of the text's language when the model is sure of it, else None."""
    if not any(ch.isalpha() for ch in text):
        return None
    code, probability = _identifier().classify(text)
    return code if probability >= SURE else None


@lru_cache(maxsize=4096)  # a document's title is asked once per chunk, a question once per word search
def maybe_english(text: str) -> bool:
    """Whether English rules may apply: the text is likeliest English, or no language has half the probability
    (too short or mixed to tell). Of 1,485 English questions of three sets, 1 fails it; of XQuAD's German
    questions, 0.6 % pass it (at SURE instead, 5 %)."""
    if not any(ch.isalpha() for ch in text):
        return True
    code, probability = _identifier().classify(text)
    return code == "en" or probability < LIKELY

