"""Settings from RAG_* environment variables and an optional .env file."""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def home() -> Path:
    """Where the default data and models live: the source checkout this runs from (`make run` sets them up
    there), else the user's data folder; never the current directory, so every command works from anywhere."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").exists():
        return root
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "smallrag"


class Settings(BaseSettings):
    # The checkout's .env, then one in the current directory (which wins).
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=(home() / ".env", ".env"), extra="ignore")

    data_dir: Path = Field(default_factory=lambda: home() / "data" / "store",
                           description="Everything the embedded mode keeps lives here.")
    collection: str = Field("default", description="Collection used when none is given.")

    # Vector store: embedded Chroma under data_dir unless a server host is set.
    chroma_host: str | None = None
    chroma_port: int = 8000

    # Shared state. Catalog (documents, lexical index, jobs, uploads, cached answers): SQLite in data_dir
    # unless a SQLAlchemy URL is set. Queue: SQLite in data_dir, run by a worker inside the service, unless
    # RAG_REDIS_URL is set with a Chroma server: then by `ingest worker` processes on any machine.
    catalog_url: str | None = Field(None, description="e.g. postgresql://postgres@127.0.0.1:5432/rag")
    blob_store: Literal["auto", "folder", "database", "s3"] = Field(
        "auto", description="where uploaded files' bytes wait for their ingest: folder (data_dir/uploads), database "
        "(the catalog's rows), s3 (RAG_S3_BUCKET); auto: s3 with a bucket set, else database with RAG_CATALOG_URL, "
        "else folder")
    s3_bucket: str | None = Field(None, description="an S3-compatible bucket for uploads (the s3 extra: boto3)")
    s3_endpoint_url: str | None = Field(None, description="the object store's URL, e.g. http://127.0.0.1:9000 (MinIO); "
                                        "none: AWS")
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    queue: Literal["auto", "sqlite", "redis", "immediate"] = Field(
        "auto", description="auto: Redis when RAG_REDIS_URL and a Chroma server are set (workers anywhere can then "
        "write the store), else SQLite in data_dir with the service's own worker; immediate: each job runs when "
        "submitted (tests)")
    queue_name: str = Field("rag-ingest", description="the queue's name (its keys' prefix in Redis)")
    job_lease_s: float = Field(30.0, description="a worker that has not renewed its job's lease for this long is "
                               "taken for dead, and the job runs again elsewhere")
    job_attempts: int = Field(3, description="a job whose worker died this many times fails")
    job_retries: int = Field(4, description="retries of a job failing for a backend that is away (store, database)")
    job_retry_delay_s: float = Field(2.0, description="the first retry's wait; each next one waits twice as long")
    service_url: str = Field("http://127.0.0.1:8000", description="where `rag ask` finds a running service")
    api_key: str | None = Field(None, description="the key `rag ask` sends to that service when its auth is on")

    # Embeddings: the bundled all-MiniLM-L6-v2 unless a local folder is given.
    embedding_model_path: Path | None = None
    embedding_batch_size: int = 32

    # Chunking, in tokens of the embedding model's tokenizer.
    chunk_tokens: int = 64
    chunk_overlap: int = 12
    embed_titles: bool = Field(True, description="encode each chunk led by its document name and headings")

    # Ingest limits: bad input must fail one file, never the run or the machine.
    max_file_mb: float = 50
    max_file_chunks: int = Field(20_000, description="chunks one file may make (a 1,000-page report makes ~10k); "
                                 "past it the file fails: embedding them would hold a worker for many minutes")
    max_upload_mb: float = Field(200, description="one upload request, all its files together")
    max_body_mb: float = Field(4, description="any other request body (JSON)")
    parse_timeout_s: float = 300
    parse_seconds_per_mb: float = Field(30.0, description="a file's parser may take 20 s and this per MB of the "
                                        "file, up to RAG_PARSE_TIMEOUT_S: a small file that parses for minutes is "
                                        "hostile, and holds a lane")
    parse_memory_mb: int = 3072
    parse_workers: int = 1
    background_share: float = Field(0.33, gt=0, le=1, description="while answers wait for or hold the model, "
                                    "ingest and /v1/embeddings together use the encoder at most this share of the time")
    ingest_workers: int = Field(2, description="ingest jobs the service runs at once: a tenant's big file leaves "
                                "a lane to the others (a collection's jobs start in arrival order, one at a time in one process)")
    pdf_parser: str = Field("pdfium", description="pdfium (fast) | pypdf; each falls back to the other")

    # Generation: a bundled model name or a GGUF path (llamacpp), or a server (openai).
    llm_backend: str = Field("llamacpp", description="llamacpp | openai | fake")
    llm_model: str = "qwen2.5-1.5b"
    llm_url: str | None = None
    llm_api_key: str | None = None
    llm_context: int = 4096
    llm_threads: int = 2
    llm_flash_attn: bool = Field(True, description="llama.cpp flash attention: faster prompt reading on most CPUs")
    max_answer_tokens: int = 96
    models_dir: Path = Field(default_factory=lambda: home() / "models")

    # Retrieval and answers.
    top_k: int = 7
    candidates: int = 20
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 2.0
    focus_documents: int = 5  # documents ranked as a whole by their words; a second vector search runs inside
    focus_weight: float = 1.0
    min_relevance: float = 0.2
    context_tokens: int = 340
    context_packing: Literal["chunks", "sentences"] = Field(
        "chunks", description="chunks: the best whole passages that fit the budget; sentences: the sentences of "
        "twice as many passages that bear most on the question")
    passage_cache_mb: int = Field(0, ge=0, description="keep each passage's reading by the local model (llama.cpp) "
                                  "on disk, up to this many MB, and put it back instead of reading the passage "
                                  "again; passages are then read apart from each other. 0 = off (docs/BENCHMARKS.md)")
    warm_uploads: bool = Field(False, description="with RAG_PASSAGE_CACHE_MB: the service reads each uploaded "
                               "document's passages once ingested, between answers, so that its first questions "
                               "are as fast as the later ones (where the readings fit)")
    passage_reread_tokens: int = Field(0, ge=0, description="with kept passage readings: each passage's last this "
                                       "many tokens are read again in context, where they see the passages before")
    verify_threshold: float = Field(0.3, ge=0, le=1, description="an answer (a long answer's sentence) is given only "
                                    "when its support reaches this: the local model's P(yes), shown its cited "
                                    "passages, times 1 - P(NOT FOUND) for its first claim; 0 = off. Chosen on the "
                                    "union of the dev sets and wrong_documents (docs/BENCHMARKS.md)")
    answer_style: Literal["auto", "short", "long"] = Field(
        "auto", description="short (a phrase) | long (a few sentences) | auto: long for why/how/compare/trend questions"
    )
    long_context_tokens: int = Field(510, description="token budget of the context for long answers")
    long_answer_tokens: int = 192
    named_documents: int = Field(50, description="long answers to a question naming one thing search only those "
                                 "of this many best-matching documents that contain the name, if any do; 0 = off")

    # The large model (any OpenAI-compatible API), reached only within its provider's limits.
    escalation: Literal["never", "when_needed", "always"] = Field(
        "never", description="never | when_needed: when the local answer is refused or ungrounded | always",
    )
    large_url: str | None = Field(None, description="base URL as the openai SDK takes it, e.g. http://127.0.0.1:8080/v1")
    large_api_key: str | None = None
    large_model: str | None = None
    large_rpm: int = Field(3, description="requests per minute the provider allows")
    large_tpm: int = Field(10_000, description="tokens per minute (prompt + max_tokens, as providers count)")
    large_rpd: int = Field(200, description="requests per day")
    large_wait_s: float = Field(0.0, description="how long an answer may wait for the budget; 0 = answer locally at once")
    large_retries: int = Field(2, description="retries after a 429 or a timeout, each through the budget")
    large_retry_wait_s: float = Field(20.0, description="longest Retry-After honoured before answering locally")
    large_timeout_s: float = 60.0
    min_support: float = Field(0.5, description="a local answer with fewer of its words in its sources is ungrounded")
    redis_url: str | None = Field(None, description="shared state across replicas, e.g. redis://127.0.0.1:6379/0")

    # Who may call the API. auto: on once an API key has been made (`rag keys create TENANT`), off before;
    # revoking every key does not turn it off.
    auth: Literal["auto", "on", "off"] = Field("auto", description="auto | on (401 without a key, even before one "
                                               "exists) | off (everyone is the default tenant)")
    rate_limit: str = Field("600/minute", description="requests per API key (per client address with auth off), "
                            "in the limits library's notation, e.g. '600/minute;10000/hour'; past it a 429")
    chat_rate_limit: str = Field("30/minute", description="questions per API key (/chat and /v1/chat/completions)")
    embed_rate_limit: str = Field("60000/minute", description="tokens per API key embedded by /v1/embeddings "
                                  "(about a third of this machine's encoder); past it a 429")
    max_upload_files: int = Field(100, description="files in one upload request")
    tenant_max_documents: int = Field(10_000, description="documents a tenant may keep; 0 = no limit")
    tenant_max_mb: float = Field(5_000, description="megabytes of files a tenant may keep; 0 = no limit")

    # The HTTP server's bounds on slow or greedy clients (service/server.py).
    header_timeout_s: float = Field(10.0, description="a request's line and headers must arrive within this")
    max_connections: int = Field(1000, description="connections and requests at once; past it a 503")

    # Browsers on other origins may call the API only from these (e.g. ["https://intranet.example"]); none by default.
    cors_origins: list[str] = Field(default_factory=list, description='JSON list, e.g. ["https://app.example.com"]')

    # Answers wait in line for the model, one answering at a time.
    max_waiting_answers: int = Field(8, description="questions waiting for the model beyond the one answering; "
                                     "past it a 503 with Retry-After")
    max_wait_s: float = Field(120.0, description="longest a question waits in line before a 503")

    # Semantic answer cache.
    cache: bool = True
    cache_similarity: float = Field(0.84, description="cosine between standalone questions for a cache hit "
                                    "(chosen by benchmarks/cache_threshold.py)")
    cache_size: int = Field(1000, description="answers kept per collection")


    def parse_timeout(self, size: int) -> float:
        return min(self.parse_timeout_s, 20 + self.parse_seconds_per_mb * size / 2**20)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "rag.sqlite3"


@lru_cache
def get_settings() -> Settings:
    return Settings()
