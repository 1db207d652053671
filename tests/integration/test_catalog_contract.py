"""One contract for every catalog, SQLite (FTS5) in the data directory and the real PostgreSQL (tsvector), by role:
Documents (test_documents_*, test_collections_*), WordIndex (test_word_*), JobRecords (test_jobs_*, test_a_job_*),
AnswerRecords (test_cached_answers_*), Uploads (test_uploaded_*, test_quota_*; their bytes in
test_blob_contract.py), ConversationRecords (test_conversations_*); the keys in test_tenants.py."""

import threading
import time

import numpy as np
import pytest

from rag.catalog import (
    AnswerRecords, ConversationRecords, Documents, JobRecords, Lexical, Message, Uploads, document_id, open_catalog,
)
from rag.chunks import Chunk
from rag.errors import BackendUnavailable
from rag.settings import Settings
from tests.helpers.databases import postgres_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_url():
    yield from postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def catalog(request, tmp_path):
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    catalog = open_catalog(Settings(_env_file=None, data_dir=tmp_path, catalog_url=url))
    yield catalog
    for name in catalog.collections():
        catalog.drop_collection(name)  # the PostgreSQL database is shared by the module's tests
    catalog.close()


@pytest.mark.parametrize("role", [Documents, JobRecords, Uploads, AnswerRecords])
def test_the_catalog_plays_every_role(catalog, role):
    """Each role's methods, with the parameters the role names, on the one class that implements them all."""
    import inspect

    for name, method in inspect.getmembers(role, inspect.isfunction):
        if name.startswith("_"):
            continue
        wanted = list(inspect.signature(method).parameters)
        assert list(inspect.signature(getattr(type(catalog), name)).parameters) == wanted, (role.__name__, name)
    for part, protocol in ((catalog.lexical, Lexical), (catalog.conversations, ConversationRecords)):
        for name, method in inspect.getmembers(protocol, inspect.isfunction):
            if not name.startswith("_"):
                assert list(inspect.signature(getattr(type(part), name)).parameters) == list(
                    inspect.signature(method).parameters), (protocol.__name__, name)


def chunks_of(doc: str, collection: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(id=f"{doc}-{i}", document_id=doc, collection=collection, source=f"{doc}.txt", text=t, index=i,
                  start=i * 100, end=i * 100 + len(t), page=i + 1, headings="Intro") for i, t in enumerate(texts)]


def ingest(catalog, doc: str, collection: str, texts: list[str], sha: str = "s") -> list[Chunk]:
    catalog.create_collection(collection)
    chunks = chunks_of(doc, collection, texts)
    catalog.record_ingested({"id": doc, "collection": collection, "source": f"{doc}.txt", "sha256": sha, "size": 10,
                             "type": "text", "chunking": "v1"}, chunks, [doc] * len(chunks), doc)
    return chunks


def test_documents_are_recorded_replaced_and_deleted(catalog):
    ingest(catalog, "apple", "c", ["Apple sold more phones in Europe.", "Revenue grew by 8 percent."])
    [doc] = catalog.list("c")
    assert (doc.id, doc.status, doc.chunks, doc.source, doc.chunking) == ("apple", "ingested", 2, "apple.txt", "v1")
    version = catalog.version("c")
    ingest(catalog, "apple", "c", ["Apple sold fewer phones."])
    assert catalog.get("apple").chunks == 1 and catalog.lexical.ids("apple") == ["apple-0"]
    assert catalog.version("c") == version + 1
    assert catalog.find_ingested_copy("c", "s", exclude_id="other").id == "apple"
    assert catalog.find_ingested_copy("c", "s", exclude_id="apple") is None
    catalog.record_outcome({"id": "bad", "collection": "c", "source": "bad.pdf", "status": "failed", "error": "corrupt"})
    assert catalog.get("bad").error == "corrupt" and [d.id for d in catalog.list("c", "failed")] == ["bad"]
    ingest(catalog, "nul", "c", ["A file may hold a NUL\x00 character."])
    assert catalog.lexical.search("c", "character", k=1)[0].document_id == "nul"
    catalog.put_upload("apple", "c", "apple.txt", "apple.txt", "s", b"bytes")
    assert catalog.get("apple").status == "ingested"  # a new upload of a known document keeps its record
    assert catalog.delete_document("apple").id == "apple"
    assert catalog.get("apple") is None and catalog.upload("apple") is None and not catalog.lexical.ids("apple")
    assert catalog.delete_document("apple") is None
    assert catalog.collections() == ["c"]
    catalog.delete_document("nul")


def test_collections_exist_once_created_and_go_with_their_documents(catalog):
    assert catalog.create_collection("empty") and not catalog.create_collection("empty")
    assert catalog.has_collection("empty") and not catalog.has_collection("other")
    ingest(catalog, "a", "full", ["Some text."])
    assert catalog.collections() == ["empty", "full"]
    catalog.drop_collection("full")
    assert catalog.collections() == ["empty"] and catalog.get("a") is None


def test_word_search_ranks_chunks_and_documents(catalog):
    ingest(catalog, "apple", "c", ["Apple sold more phones in Europe.", "Foreign exchange rates hurt revenue."])
    ingest(catalog, "msft", "c", ["Microsoft cloud revenue grew.", "Exchange rates helped Microsoft."])
    ingest(catalog, "elsewhere", "d", ["Foreign exchange rates hurt revenue."])
    hits = catalog.lexical.search("c", "How did foreign exchange rates affect revenue?", k=3)
    assert hits[0].id == "apple-1" and {h.collection for h in hits} == {"c"}
    assert hits[0].page == 2 and hits[0].headings == "Intro" and hits[0].score > hits[-1].score
    assert [h.document_id for h in catalog.lexical.search("c", "exchange rates", k=5, document_ids=["msft"])] == ["msft"]
    assert catalog.lexical.search("c", "the of and", k=3) == []  # nothing but common words
    assert catalog.lexical.search("c", 'NEAR(x) OR "revenue', k=3)  # search syntax in a question is just words
    assert catalog.lexical.search_documents("c", "Microsoft cloud", 2)[0] == "msft"
    assert catalog.lexical.naming(["Microsoft"], ["apple", "msft"]) == ["msft"]
    assert catalog.lexical.count("c") == 4 and len(catalog.lexical.chunks("c")) == 4
    catalog.drop_collection("c")
    assert catalog.lexical.count("c") == 0 and catalog.list("c") == [] and catalog.lexical.count("d") == 1


def test_word_search_reads_chinese_and_keeps_other_languages_words(catalog):
    ingest(catalog, "bowl", "zh", ["黑豹队的防守只丢了308分，在联盟中排名第六。", "超级碗五十在加利福尼亚州举行。"])
    ingest(catalog, "urlaub", "zh", ["Jeder Mitarbeiter hat 28 Tage bezahlten Urlaub pro Kalenderjahr."])
    assert catalog.lexical.search("zh", "黑豹队的防守丢了多少分？", k=3)[0].id == "bowl-0"  # no spaces to split on
    assert catalog.lexical.search("zh", "超级碗在哪里举行", k=3)[0].id == "bowl-1"
    assert catalog.lexical.search("zh", "Wie viele Tage Urlaub?", k=3)[0].id == "urlaub-0"
    assert catalog.lexical.search_documents("zh", "黑豹队", 1) == ["bowl"]
    assert catalog.lexical.passages("bowl")[0].text.startswith("黑豹队的防守")  # the text kept as it was


def test_english_words_are_stemmed_and_other_languages_words_are_not(catalog):
    ingest(catalog, "report", "c", ["The companies reported rising margins in every region."])
    ingest(catalog, "bericht", "c", ["Die Gemeinde meldete steigende Einnahmen in jeder Region des Landes."])
    assert catalog.lexical.search("c", "Which company reports a rising margin?", k=1)[0].id == "report-0"
    assert catalog.lexical.search_documents("c", "company margin", 1) == ["report"]
    assert catalog.lexical.naming(["Companies"], ["report", "bericht"]) == ["report"]
    assert catalog.lexical.search("c", "Welche Gemeinde meldete Einnahmen des Landes?", k=1)[0].id == "bericht-0"
    # English rules cut "Landes" to "land" (and "meldete" to "meldet"): German words of another form no longer match
    assert catalog.lexical.search("c", "Land meldet", k=1) == []
    stored = catalog.lexical.passages("bericht")[0]
    assert stored.text.startswith("Die Gemeinde meldete")  # the text is kept as written


def test_jobs_are_claimed_once_and_taken_over_when_their_lease_runs_out(catalog):
    files = [{"name": "a.txt", "source": "a.txt", "document_id": document_id("c", "a.txt")}]
    catalog.submit_job("j1", "c", files, lease_s=60)
    assert catalog.job("j1").status == "queued" and catalog.job_depth() >= 1
    assert catalog.claim_job("j1", "w1", lease_s=60).worker == "w1"
    assert catalog.claim_job("j1", "w2", lease_s=60) is None  # held
    assert catalog.extend_lease("j1", "w1", lease_s=60) and not catalog.extend_lease("j1", "w2", 60)
    assert catalog.expired_jobs(("running",), lease_s=5) == []
    catalog.update_job("j1", lease_until=time.time() - 1)  # w1 died: its lease ran out
    assert catalog.expired_jobs(("running",), lease_s=5) == ["j1"]
    assert catalog.expired_jobs(("running",), lease_s=5) == []  # one sweeper requeues it, not every one
    assert (catalog.job("j1").status, catalog.job("j1").takeovers) == ("queued", 1)
    taken = catalog.claim_job("j1", "w2", lease_s=60)
    assert (taken.worker, taken.attempts, taken.takeovers) == ("w2", 2, 1)
    catalog.update_job("j1", lease_until=time.time() - 1)  # w2 died too; a message reaches w3 before a sweeper
    assert (catalog.claim_job("j1", "w3", lease_s=30).takeovers) == 2
    catalog.update_job("j1", status="done", results=[{"outcome": "ingested"}])
    assert catalog.job("j1").results == [{"outcome": "ingested"}]
    assert catalog.claim_job("j1", "w3", lease_s=30) is None


def test_a_job_is_claimed_by_exactly_one_of_many_workers(catalog):
    catalog.submit_job("race", "c", [], lease_s=60)
    won = []
    threads = [threading.Thread(target=lambda w=w: won.append(catalog.claim_job("race", w, 60))) for w in "abcdef"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(j is not None for j in won) == 1


def test_cached_answers_keep_the_newest_of_the_current_version(catalog):
    vector = np.ones(4, dtype=np.float32).tobytes()
    for i in range(5):
        catalog.cache_answer("c", 1, "short", f"q{i}", vector, f'"a{i}"', 10, keep=3)
    assert [r.question for r in catalog.cached_answers("c", 1, "short", 10)] == ["q4", "q3", "q2"]
    catalog.cache_answer("c", 2, "short", "new", vector, '"b"', 10, keep=3)
    assert catalog.cached_answers("c", 1, "short", 10) == []


def test_uploaded_bytes_are_kept_whole(catalog):
    data = bytes(range(256)) * 4096 + b"\x00end"
    catalog.put_upload("d1", "c", "blob.pdf", "blob.pdf", "sha", data)
    assert catalog.upload("d1") == data and catalog.get("d1").status == "pending"
    catalog.put_upload("d1", "c", "blob.pdf", "blob.pdf", "sha2", b"replaced")
    assert catalog.upload("d1") == b"replaced"


def test_an_unreachable_database_is_backend_unavailable(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, catalog_url="postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(BackendUnavailable, match="cannot open the catalog at postgresql"):
        open_catalog(settings)


def test_writers_racing_on_a_new_collection_and_document_lose_nothing(catalog):
    errors = []

    def write(i):
        try:
            catalog.record_outcome({"id": "same", "collection": "fresh", "source": "same.pdf", "status": "failed",
                                    "error": f"try {i}"})
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and catalog.version("fresh") == 8 and len(catalog.list("fresh")) == 1
    catalog.create_collection("fresh")  # so that the module's shared database is left clean


def test_quota_is_checked_and_charged_in_one_transaction(catalog):
    """20 uploads at once against a 10-document quota keep exactly 10; the tenant's usage counts only its own."""
    from rag.catalog import NewUpload
    from rag.errors import QuotaExceeded

    catalog.create_collection("acme.docs")
    catalog.create_collection("docs")
    catalog.put_upload("other", "docs", "other.txt", "other.txt", "s", b"the default tenant's")

    def quota(count, size):
        if count > 10:
            raise QuotaExceeded("over")

    kept: list[int] = []

    def one(i, outcomes):
        item = NewUpload(f"doc-{i}", "acme.docs", f"{i}.txt", "s", 5, lambda: b"bytes")
        try:
            catalog.put_uploads([item], "acme", quota)
            outcomes.append("kept")
            kept.append(i)
        except QuotaExceeded:
            outcomes.append("refused")

    outcomes: list[str] = []
    threads = [threading.Thread(target=one, args=(i, outcomes)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("kept") == 10 and outcomes.count("refused") == 10
    assert catalog.usage("acme") == (10, 50) and catalog.usage("default") == (1, len(b"the default tenant's"))
    # a replacement of one kept (whichever won the race) counts once
    again = NewUpload(f"doc-{kept[0]}", "acme.docs", f"{kept[0]}.txt", "s2", 7, lambda: b"replaced")
    catalog.put_uploads([again], "acme", quota)
    assert catalog.upload(f"doc-{kept[0]}") == b"replaced"
    catalog.drop_collection("acme.docs")


def test_jobs_are_claimed_in_arrival_order_per_collection_and_fairly_across_tenants(catalog):
    for job_id, collection in [("a1", "acme.big"), ("a2", "acme.big"), ("a3", "acme.other"), ("b1", "bolt.docs")]:
        catalog.submit_job(job_id, collection, [], lease_s=60)
    assert catalog.claim_next("w1", lease_s=60).id == "a1"
    # acme has a job running: bolt's goes first. This worker writes acme.big already: a2 is skipped for it.
    assert catalog.claim_next("w1", lease_s=60, skip=frozenset({"acme.big"})).id == "b1"
    assert catalog.claim_next("w1", lease_s=60, skip=frozenset({"acme.big"})).id == "a3"
    assert catalog.claim_next("w1", lease_s=60, skip=frozenset({"acme.big"})) is None
    assert sorted((j, w) for j, w in catalog.running_jobs() if j in ("a1", "a3", "b1")) == [
        ("a1", "w1"), ("a3", "w1"), ("b1", "w1")]  # the module's PostgreSQL database holds other tests' jobs
    catalog.update_job("a1", lease_until=time.time() - 1)  # a1's worker died: a1 is taken over before a2
    assert catalog.claim_next("w2", lease_s=60).id == "a1"
    catalog.update_job("a1", status="queued", lease_until=time.time() + 60)  # retried later: a2 waits for it
    assert catalog.claim_next("w3", lease_s=60) is None
    catalog.update_job("a1", lease_until=time.time() - 1)
    assert catalog.claim_next("w3", lease_s=60).id == "a1"
    assert catalog.claim_next("w4", lease_s=60).id == "a2"  # another worker may write the same collection


def test_conversations_keep_their_messages_for_their_owner_only(catalog):
    import uuid

    tenant = f"t{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the module's tests
    records = catalog.conversations
    first = records.create(tenant, "key-1", "default", "")
    second = records.create(tenant, "key-1", "legal", "Contracts")
    cited = [{"number": 1, "document_id": "d1", "name": "a.md"}]
    records.add(first.id, Message("user", "How many\x00 days?", [], None, False, ""))  # PostgreSQL holds no NUL
    records.add(first.id, Message("assistant", "28 days [1]", cited, "local", False, ""))
    assert [c.id for c in records.list(tenant, "key-1")] == [first.id, second.id]  # the latest message first
    got = records.messages(first.id)
    assert [(m.role, m.content, m.citations, m.answered_by) for m in got] == [
        ("user", "How many days?", [], None), ("assistant", "28 days [1]", cited, "local")]
    for other in ((tenant, "key-2"), ("someone-else", "key-1")):  # another key's, another tenant's: absent
        assert records.get(first.id, *other) is None and records.list(*other) == []
        assert not records.rename(first.id, *other, "x") and not records.delete(first.id, *other)
    records.add(first.id, Message("user", "And sick days?", [], None, False, ""))
    records.add(first.id, Message("assistant", "Tell your lead", [], "local", False, ""))
    records.drop_last_answers(first.id)  # to answer the last question anew
    assert [m.content for m in records.messages(first.id)][-2:] == ["28 days [1]", "And sick days?"]
    assert records.rename(first.id, tenant, "key-1", "Time off") and records.get(first.id, tenant, "key-1").title == "Time off"
    assert records.delete(first.id, tenant, "key-1") and records.messages(first.id) == []
    assert records.get(first.id, tenant, "key-1") is None and records.delete(second.id, tenant, "key-1")


def test_a_sqlite_store_from_before_cjk_terms_is_indexed_again(tmp_path):
    from sqlalchemy import text

    settings = Settings(_env_file=None, data_dir=tmp_path)
    old = open_catalog(settings)
    ingest(old, "bowl", "c", ["黑豹队的防守只丢了308分。", "Revenue grew in Europe."])
    with old.engine.begin() as conn:  # the index as it was: over the chunks' text, no terms
        for statement in ("DROP TRIGGER chunks_ai", "DROP TRIGGER chunks_ad", "DROP TABLE chunks_fts",
                          "UPDATE chunks SET terms = NULL"):
            conn.execute(text(statement))
        conn.execute(text("CREATE VIRTUAL TABLE chunks_fts USING fts5(text, title, content='chunks', "
                          "content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2')"))
        conn.execute(text("INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild')"))
    assert old.lexical.search("c", "黑豹队的防守", k=1) == []  # a CJK run was one word
    old.close()
    migrated = open_catalog(settings)
    assert migrated.lexical.search("c", "黑豹队的防守", k=1)[0].id == "bowl-0"
    assert migrated.lexical.search("c", "European revenue", k=1)[0].id == "bowl-1"
    assert migrated.lexical.search_documents("c", "revenue in Europe", 1) == ["bowl"]  # made again
    migrated.close()


def test_a_postgres_database_from_before_cjk_terms_is_indexed_again(tmp_path):
    from sqlalchemy import text

    from tests.helpers.databases import postgres_database

    databases = postgres_database()
    url = next(databases)
    try:
        settings = Settings(_env_file=None, data_dir=tmp_path, catalog_url=url)
        old = open_catalog(settings)
        ingest(old, "bowl", "c", ["黑豹队的防守只丢了308分。", "Revenue grew in Europe."])
        with old.engine.begin() as conn:  # the index as it was: over the chunks' text, no terms
            conn.execute(text("ALTER TABLE chunks DROP COLUMN tsv"))
            conn.execute(text("UPDATE chunks SET terms = NULL"))
            conn.execute(text("ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector("
                              "'english', text), 'A') || setweight(to_tsvector('english', title), 'B')) STORED"))
        assert old.lexical.search("c", "黑豹队的防守", k=1) == []
        old.close()
        migrated = open_catalog(settings)
        assert migrated.lexical.search("c", "European revenue", k=1)[0].id == "bowl-1"
        assert migrated.lexical.search("c", "黑豹队的防守", k=1)[0].id == "bowl-0"
        assert migrated.lexical.search_documents("c", "revenue in Europe", 1) == ["bowl"]  # made again
        migrated.close()
    finally:
        databases.close()
