"""Conversations kept by the service, over HTTP with the real store, catalog and worker (the fake LLM): asked
in, reopened, renamed, deleted; another tenant's or key's is a 404; a deleted document's citation is marked gone;
Regenerate replaces the last answer; a long conversation is cut for the model, never an error."""

import pytest

from tests.integration.test_tenants import HANDBOOK, QUESTION, as_key, client, fake_llm, services, upload  # noqa: F401

pytestmark = pytest.mark.integration


def make(client, key=None, **body):
    response = client.post("/conversations", json=body, headers=as_key(key) if key else {})
    assert response.status_code == 201, response.text
    return response.json()


def ask(client, conversation, key=None, **body):
    response = client.post("/chat", json={"conversation_id": conversation["id"], **body},
                           headers=as_key(key) if key else {})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_conversation_is_kept_with_its_answers_and_citations(client, fake_llm):
    job, state = upload(client, None, HANDBOOK)
    doc_id = job["documents"][0]["document_id"]
    assert state["status"] == "done"
    convo = make(client)
    assert convo["title"] == "" and convo["collection"] == "default"
    fake_llm.enqueue("28 days of paid vacation [1]")
    first = ask(client, convo, question=QUESTION)
    assert first["answer"] == "28 days of paid vacation [1]" and first["citations"][0]["document_id"] == doc_id
    fake_llm.enqueue("When is a doctor's note needed for sick leave?", "From the fourth day of sick leave [1]")
    ask(client, convo, question="And when is a doctor's note needed?")
    assert "28 days of paid vacation" in fake_llm.history[-2][-1]["content"]  # the rewrite read the history

    kept = client.get(f"/conversations/{convo['id']}").json()
    assert kept["title"] == QUESTION  # the first question names it
    assert [(m["role"], m["content"][:10]) for m in kept["messages"][:3]] == [
        ("user", QUESTION[:10]), ("assistant", "28 days of"), ("user", "And when i")]
    assert kept["messages"][3]["role"] == "assistant"
    assert kept["messages"][1]["citations"][0]["gone"] is False and kept["messages"][1]["answered_by"] == "local"

    fake_llm.enqueue("When is a doctor's note needed for sick leave?", "Regenerated: from the fourth day [1]")
    asked = len(fake_llm.history)
    again = ask(client, convo, regenerate=True)
    messages = client.get(f"/conversations/{convo['id']}").json()["messages"]
    assert again["answered_by"] == "local" and len(messages) == 4 and messages[-1]["content"] == again["answer"]
    assert len(fake_llm.history) > asked and not fake_llm.replies  # answered anew by the model, not the cache
    assert again["answer"].startswith("Regenerated") or again["refused"]

    assert client.delete(f"/documents/{doc_id}").status_code == 204
    cited = client.get(f"/conversations/{convo['id']}").json()["messages"][1]["citations"][0]
    assert cited["gone"] is True and cited["name"] == HANDBOOK  # readable, marked as gone

    renamed = client.patch(f"/conversations/{convo['id']}", json={"title": "Time off"}).json()
    assert renamed["title"] == "Time off" and client.get("/conversations").json()[0]["title"] == "Time off"
    assert client.delete(f"/conversations/{convo['id']}").status_code == 204
    assert client.get(f"/conversations/{convo['id']}").status_code == 404
    assert client.get("/conversations").json() == []


def test_a_long_conversation_is_cut_for_the_model_never_refused(client, fake_llm):
    convo = make(client)
    for n in range(30):
        fake_llm.enqueue(f"answer {n} " + "words " * 200)
        ask(client, convo, question=f"Question number {n} about {'many things ' * 50}?")
    assert len(client.get(f"/conversations/{convo['id']}").json()["messages"]) == 60


def test_another_tenants_or_keys_conversation_is_a_404(client, services):
    _, acme = services.catalog.keys.create("acme")
    _, acme2 = services.catalog.keys.create("acme")
    _, globex = services.catalog.keys.create("globex")
    convo = make(client, acme)
    for key in (acme2, globex):
        headers = as_key(key)
        assert client.get(f"/conversations/{convo['id']}", headers=headers).status_code == 404
        assert client.patch(f"/conversations/{convo['id']}", json={"title": "x"}, headers=headers).status_code == 404
        assert client.delete(f"/conversations/{convo['id']}", headers=headers).status_code == 404
        chat = client.post("/chat", json={"conversation_id": convo["id"], "question": "Q?"}, headers=headers)
        assert chat.status_code == 404 and chat.json()["error"] == "ConversationNotFound"
        assert client.get("/conversations", headers=headers).json() == []
    assert client.get(f"/conversations/{convo['id']}", headers=as_key(acme)).status_code == 200


@pytest.mark.parametrize("body,status", [
    ({"collection": "nowhere"}, 404),
    ({"title": "x" * 201}, 422),
])
def test_bad_conversations_are_refused_with_a_reason(client, body, status):
    response = client.post("/conversations", json=body)
    assert response.status_code == status and response.json()["detail"]


@pytest.mark.parametrize("body", [
    {"regenerate": True},  # no conversation to regenerate in
    {"conversation_id": "c", "messages": [{"role": "user", "content": "Q?"}]},
    {"conversation_id": "c", "question": "Q?", "regenerate": True},
])
def test_chat_bodies_that_mix_kept_and_sent_conversations_are_refused(client, body):
    assert client.post("/chat", json=body).status_code == 422


def test_regenerate_with_nothing_asked_is_a_clear_400(client):
    convo = make(client)
    response = client.post("/chat", json={"conversation_id": convo["id"], "regenerate": True})
    assert response.status_code == 400 and "no question" in response.json()["detail"]


def test_a_cited_document_opens_a_pdf_inline_and_other_files_never_render_here(client, services):
    _, acme = services.catalog.keys.create("acme")
    _, globex = services.catalog.keys.create("globex")
    pdf, _ = upload(client, acme, "travel-expense-policy.pdf")
    page = upload(client, acme, "hostile.html", content=b"<html><body><script>alert(1)</script><p>Hello there, "
                  b"this page has enough words to be a document of its own.</p></body></html>")[0]
    pdf_id, page_id = pdf["documents"][0]["document_id"], page["documents"][0]["document_id"]
    served = client.get(f"/documents/{pdf_id}/file", headers=as_key(acme))
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline") and served.content.startswith(b"%PDF")
    html = client.get(f"/documents/{page_id}/file", headers=as_key(acme))
    assert html.headers["content-disposition"].startswith("attachment") and "sandbox" in html.headers[
        "content-security-policy"] and html.headers["x-content-type-options"] == "nosniff"
    passages = client.get(f"/documents/{pdf_id}/passages", headers=as_key(acme)).json()
    assert [p["index"] for p in passages] == list(range(len(passages))) and passages[-1]["page"] == 2
    for path in (f"/documents/{pdf_id}/file", f"/documents/{pdf_id}/passages"):
        assert client.get(path, headers=as_key(globex)).status_code == 404
