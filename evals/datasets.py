"""Labeled question sets: the documented JSONL format, and adapters for the sets in shared/eval."""

import csv
import hashlib
import fnmatch
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError

SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


@dataclass
class Question:
    question: str
    answers: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # gold document names or globs, matched on the file name
    unanswerable: bool = False


@dataclass
class Dataset:
    name: str
    questions: list[Question]
    documents: list[Path]  # files to ingest
    root: Path | None = None  # document names are relative to this folder (default: file names)
    answer_kind: str = "short"  # short (extractive: EM/F1 and answer-recall apply) | long
    source: Path | None = None  # the file the questions come from: the eval store is keyed by its path and content

    @property
    def key(self) -> str:
        """Its name, path and content: two datasets both named questions.jsonl never share a store."""
        if self.source is None:
            return self.name
        digest = hashlib.sha256(str(self.source.resolve()).encode() + b"\0" + self.source.read_bytes()).hexdigest()
        return f"{self.name}-{digest[:8]}"

    def document_name(self, source: str) -> str:
        path = Path(source)
        if not path.is_absolute():
            return source  # already its name
        if self.root and path.is_relative_to(self.root):
            return str(path.relative_to(self.root))
        return path.name

    def is_gold(self, question: Question, source: str) -> bool:
        return bool(self.gold_in(question, [source]))

    def gold_in(self, question: Question, sources: list[str]) -> set[str]:
        """The question's gold documents (names or globs) that these sources are."""
        names = [self.document_name(s) for s in sources]
        return {pattern for pattern in question.documents
                if any(fnmatch.fnmatch(name, pattern) or name == pattern for name in names)}


def sample(questions: list[Question], limit: int | None, seed: int = 0) -> list[Question]:
    """A seeded sample that keeps the share of unanswerable questions."""
    if not limit or limit >= len(questions):
        return questions
    rng = random.Random(seed)
    shuffled = questions[:]
    rng.shuffle(shuffled)
    return shuffled[:limit]


def load_jsonl(path: Path, documents: Path | None = None) -> Dataset:
    """One JSON object per line: {"question", "answers": [...], "documents": [...], "unanswerable": bool}.

    The documents are the files under `documents` (default: the folder `documents/` next to the file).
    """
    folder = documents or path.parent / "documents"
    if not folder.is_dir():
        raise RagError(f"no documents folder {folder}: put the documents there or pass --docs")
    questions = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(row["question"], list(row.get("answers") or []), list(row.get("documents") or []),
                                      bool(row.get("unanswerable", False))))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise RagError(f"{path}:{n}: not a question record ({e})") from e
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    long_answers = sum(len(a.split()) > 12 for q in questions for a in q.answers) > len(questions) / 2
    return Dataset(path.stem, questions, files, root=folder, answer_kind="long" if long_answers else "short",
                   source=path)


def load_squad(base: Path = SHARED_EVAL, workdir: Path | None = None) -> Dataset:
    """SQuAD v2 dev half: each article becomes a text document, its paragraphs separated by blank lines."""
    data = json.loads((base / "squad_v2_dev" / "data" / "dev-v2.0.json").read_text())
    folder = (workdir or Path("/tmp")) / "squad-docs"
    folder.mkdir(parents=True, exist_ok=True)
    questions, files = [], []
    for article in data["data"]:
        name = article["title"] + ".txt"
        path = folder / name
        text = article["title"].replace("_", " ") + "\n\n" + "\n\n".join(p["context"] for p in article["paragraphs"])
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        files.append(path)
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(Question(qa["question"], answers, [name], bool(qa.get("is_impossible"))))
    return Dataset("squad", questions, files, source=base / "squad_v2_dev" / "data" / "dev-v2.0.json")


def load_docugami(base: Path = SHARED_EVAL) -> Dataset:
    root = base / "docugami_sec10q" / "sec-10-q" / "data" / "v1"
    questions = []
    with open(root / "qna_data.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            questions.append(Question(row["Question"], [row["Answer"]], _docugami_globs(row)))
    return Dataset("docugami", questions, sorted((root / "docs").glob("*.pdf")), answer_kind="long",
                   source=root / "qna_data.csv")


FIGURE = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])")


def load_docugami_tables(base: Path = SHARED_EVAL) -> Dataset:
    """docugami's questions about one document whose answer is a figure from a table: the figures written as
    tables print them (1,234) are the answers, so answer-recall and F1 apply."""
    root = base / "docugami_sec10q" / "sec-10-q" / "data" / "v1"
    questions = []
    with open(root / "qna_data.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            figures = list(dict.fromkeys(FIGURE.findall(row["Answer"].split("SOURCE")[0])))
            if row["Source Chunk Type"] == "Table" and row["Question Type"].startswith("Single-Doc") and figures:
                questions.append(Question(row["Question"], figures, _docugami_globs(row)))
    return Dataset("docugami-tables", questions, sorted((root / "docs").glob("*.pdf")), source=root / "qna_data.csv")


def _docugami_globs(row: dict) -> list[str]:
    globs = [g.strip() for g in row["Source Docs"].split(",") if g.strip()]
    return [g if g.endswith("*") else g + "*" for g in globs]


def load_cmu(base: Path = SHARED_EVAL) -> Dataset:
    """CMU Wikipedia QA (S10): one question per distinct (article, question); NULL answers = unanswerable."""
    root = base / "cmu_wiki_qa" / "S10"
    merged: dict[tuple[str, str], Question] = {}
    with open(root / "question_answer_pairs.txt", encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if not row.get("Question") or not row.get("ArticleFile") or row["ArticleFile"] == "NULL":
                continue
            doc = row["ArticleFile"].removeprefix("data/") + ".htm"
            q = merged.setdefault((doc, row["Question"].strip()), Question(row["Question"].strip(), [], [doc]))
            answer = (row.get("Answer") or "").strip()
            if answer and answer != "NULL" and answer not in q.answers:
                q.answers.append(answer)
    questions = list(merged.values())
    for q in questions:
        q.unanswerable = not q.answers
    files = sorted({root / "data" / d for q in questions for d in q.documents if (root / "data" / d).exists()})
    return Dataset("cmu", questions, files, root=root / "data", source=root / "question_answer_pairs.txt")


def load_aragog(base: Path = SHARED_EVAL) -> Dataset:
    """ARAGOG: questions over 15 arXiv PDFs, 1-3 sentence reference answers, one gold PDF each; questions
    whose PDF is missing from the source (glm_130b.pdf) are left out."""
    root = base / "aragog"
    data = json.loads((root / "eval_questions_relevant_doc.json").read_text())
    papers = root / "papers"
    questions = [Question(q, [truth], [path]) for q, truth, path in
                 zip(data["questions"], data["ground_truths"], data["filepaths"]) if (papers / path).exists()]
    return Dataset("aragog", questions, sorted(papers.glob("*.pdf")), answer_kind="long",
                   source=root / "eval_questions_relevant_doc.json")


def load_hotpotqa(base: Path = SHARED_EVAL, workdir: Path | None = None) -> Dataset:
    """HotpotQA dev, distractor setting, 100 questions: every paragraph of their contexts becomes a text
    document named by its title (991 in all, pooled); a question's gold documents are the two paragraphs its
    supporting facts come from, and most questions need both."""
    source = base / "hotpotqa_dev100" / "hotpot_dev_distractor_v1.json"
    rows = json.loads(source.read_text())
    folder = (workdir or Path("/tmp")) / "hotpotqa-docs"
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}  # title -> file name, unique ("Romeo + Juliet" and "Romeo × Juliet" are two)
    files = []
    for row in rows:
        for title, sentences in zip(row["context"]["title"], row["context"]["sentences"]):
            if title in names:
                continue
            name = _file_name(title)
            if name + ".txt" in names.values():
                name += f" ({hashlib.sha256(title.encode()).hexdigest()[:6]})"
            names[title] = name + ".txt"
            path = folder / names[title]
            text = title + "\n\n" + "".join(sentences).strip() + "\n"
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
            files.append(path)
    questions = [Question(row["question"], [row["answer"]],
                          list(dict.fromkeys(names[t] for t in row["supporting_facts"]["title"]))) for row in rows]
    return Dataset("hotpotqa", questions, sorted(files), source=source)


def _file_name(title: str) -> str:
    return "".join(c if c.isalnum() or c in " -_.,()'" else "_" for c in title).strip(" .")[:150] or "untitled"


XQUAD_LANGUAGES = ("en", "de", "es", "zh", "ru")


def load_xquad(base: Path = SHARED_EVAL, workdir: Path | None = None, lang: str = "en",
               docs_lang: str | None = None) -> Dataset:
    """XQuAD: the same 48 articles and 1,190 questions in five languages. Questions in `lang` over the articles in
    `docs_lang` (default: the same; another: cross-lingual), one text document per article named by its (English)
    title; a question's references are its answers in both languages (the passages hold the documents' ones)."""
    docs_lang = docs_lang or lang
    for code in (lang, docs_lang):
        if code not in XQUAD_LANGUAGES:
            raise RagError(f"XQuAD has no language {code!r}: {', '.join(XQUAD_LANGUAGES)}")
    asked = json.loads((base / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    read = json.loads((base / "xquad" / f"xquad.{docs_lang}.json").read_text(encoding="utf-8"))
    folder = (workdir or Path("/tmp")) / f"xquad-{docs_lang}-docs"
    folder.mkdir(parents=True, exist_ok=True)
    files, answers_read = [], {}
    for article in read["data"]:
        path = folder / f"{article['title']}.txt"
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        files.append(path)
        answers_read.update({qa["id"]: [a["text"] for a in qa["answers"]]
                             for p in article["paragraphs"] for qa in p["qas"]})
    questions = [Question(qa["question"], list(dict.fromkeys([a["text"] for a in qa["answers"]] + answers_read[qa["id"]])),
                          [f"{article['title']}.txt"])
                 for article in asked["data"] for p in article["paragraphs"] for qa in p["qas"]]
    name = f"xquad-{lang}" + (f"-over-{docs_lang}" if docs_lang != lang else "")
    return Dataset(name, questions, files, source=base / "xquad" / f"xquad.{lang}.json")


BUILT_IN = {"squad": load_squad, "docugami": load_docugami, "docugami-tables": load_docugami_tables,
            "cmu": load_cmu, "aragog": load_aragog,
            "hotpotqa": load_hotpotqa, "xquad": load_xquad}
WRITES_DOCUMENTS = {"squad", "hotpotqa", "xquad"}  # their documents are made from the data, in workdir


def load_dataset(name_or_path: str, documents: Path | None = None, workdir: Path | None = None,
                 sets: Path | None = None, **options) -> Dataset:
    """A JSONL file, or a built-in set read from `sets` (default: shared/eval beside the checkout); `options` are
    a set's own (xquad: lang, docs_lang)."""
    if name_or_path in BUILT_IN:
        base = sets or SHARED_EVAL
        if not base.is_dir():
            raise RagError(f"the built-in sets are read from {base}, which is missing: pass --sets FOLDER (or "
                           f"RAG_EVAL_SETS) holding them; docs/EVAL.md says where each comes from")
        if name_or_path in WRITES_DOCUMENTS:
            return BUILT_IN[name_or_path](base=base, workdir=workdir, **options)
        return BUILT_IN[name_or_path](base=base)
    path = Path(name_or_path)
    if not path.is_file():
        raise RagError(f"no dataset {name_or_path!r}: give a JSONL file or one of {', '.join(BUILT_IN)}")
    return load_jsonl(path, documents)
