"""The web page end to end in headless Chromium (Debian's, driven by Playwright; never a downloaded browser)
against `rag serve` as a process with SmolLM2: upload a PDF, watch it become ingested, ask, see the sources
while the model reads and a cited answer, open a citation, ask a follow-up, see an answer come from the
cache and regenerate it fresh, ask what the documents do not answer and see the refusal, delete the document; then an API key, once
auth is on. A screenshot of every step, at desktop and phone width, goes to test-artifacts/web/."""

import os
import re
import time
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.helpers.servers import free_port, start_service

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "web"
WIDTHS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
PDF = SAMPLES / "travel-expense-policy.pdf"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run does)")
    scratch = tmp_path_factory.mktemp("web")
    port = free_port()
    process = start_service(scratch / "store", port, open(scratch / "serve.log", "w"), RAG_LLM_BACKEND="llamacpp",
                            RAG_LLM_MODEL="smollm2-135m", RAG_VERIFY_THRESHOLD="0", RAG_RATE_LIMIT="",
                            RAG_CHAT_RATE_LIMIT="")  # both widths' pages share one client address
    try:
        yield f"http://127.0.0.1:{port}", scratch / "store", scratch / "serve.log"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def ask(page, question: str):
    page.get_by_label("Question").fill(question)
    page.get_by_label("Question").press("Enter")  # Enter sends
    answer = page.locator("#conversation li.answer").last
    answer.and_(page.locator("[aria-busy=false]")).wait_for(timeout=120_000)
    return answer


@pytest.mark.parametrize("width", list(WIDTHS))
def test_upload_ask_cite_refuse_delete(service, browser, width):
    from playwright.sync_api import expect

    url, _, log = service
    assert f"ready: open {url}/ in a browser" in log.read_text()  # what `make run` ends with
    page = browser.new_page(viewport=WIDTHS[width])
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/chat") else None)
    page.on("dialog", lambda d: d.accept())  # the delete confirmations
    errors = []
    page.on("pageerror", lambda error: errors.append(error))  # a script error anywhere fails the test

    def shot(step: str) -> None:
        page.screenshot(path=SHOTS / f"{width}-{step}.png", full_page=True)

    page.goto(url)
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    page.get_by_label("New collection").fill(f"policies-{width}")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_label("Collection", exact=True)).to_have_value(f"policies-{width}")
    shot("1-open")

    page.locator("#files").set_input_files(PDF)  # the picker; the drop zone is the same input's label
    status = page.locator("#uploads .upload-status").last
    expect(status).to_contain_text("ingested", timeout=120_000)
    row = page.locator("#document-table tbody tr").filter(has_text=PDF.name)
    expect(row.locator("td").nth(1)).to_have_text("ingested")
    expect(row.locator("td").nth(2)).to_have_text("2")  # pages
    assert int(row.locator("td").nth(3).inner_text()) >= 2  # chunks
    page.locator("#files").set_input_files({"name": "broken.pdf", "mimeType": "application/pdf",
                                            "buffer": b"%PDF-1.4 this is not really a PDF"})
    expect(page.locator("#uploads .upload-status").last).to_contain_text("failed: ", timeout=60_000)
    shot("2-ingested")

    page.evaluate("""() => { window.seen = []; new MutationObserver(() => {
        const r = document.querySelector('#conversation li.answer:last-child .reading');
        if (r) window.seen.push(r.textContent); }).observe(document.querySelector('#conversation'),
        {subtree: true, childList: true, characterData: true}); }""")
    answer = ask(page, "What is the daily meal allowance for domestic trips?")
    assert any(s.startswith("Reading") and PDF.name in s for s in page.evaluate("window.seen"))  # sources, early
    expect(answer.locator(".answer-text")).not_to_be_empty()
    expect(answer.locator(".citations button.cite").first).to_contain_text(PDF.name)
    shot("3-answer")

    answer.locator(".citations button.cite").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(PDF.name)
    expect(dialog.locator("blockquote")).not_to_be_empty()
    shot("4-citation")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    first = sent[-1]["conversation_id"]
    ask(page, "And for trips abroad?")
    assert sent[-1] == {"conversation_id": first, "question": "And for trips abroad?", "stream": True}  # one kept

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#conversation li")).to_have_count(0)
    again = ask(page, "What is the daily meal allowance for domestic trips?")
    assert sent[-1]["conversation_id"] != first and "regenerate" not in sent[-1]
    expect(again.locator(".badge")).to_have_text("From the answer cache")

    again.get_by_role("button", name="Regenerate").click()  # the same question, a fresh answer
    fresh = page.locator("#conversation li.answer").last
    fresh.and_(page.locator("[aria-busy=false]")).wait_for(timeout=120_000)
    assert sent[-1]["regenerate"] is True and "question" not in sent[-1]
    expect(fresh.locator(".badge")).to_have_count(0)  # not from the cache
    expect(page.locator("#conversation li.question")).to_have_count(1)  # it replaced the answer
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(1)  # on the latest answer only

    refused = ask(page, "Who won the football World Cup in 1986?")
    expect(refused.locator(".mark")).to_have_text("Not found in your documents")
    shot("5-refused")

    page.get_by_label("Question").focus()  # keyboard: the question, then Send, then New conversation
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="New conversation")).to_be_focused()

    row.get_by_role("button", name=f"Delete {PDF.name}").click()
    expect(row).to_have_count(0)
    shot("6-deleted")
    page.get_by_role("button", name="Delete", exact=True).click()  # the collection
    expect(page.get_by_label("Collection", exact=True)).to_have_value("default")
    assert f"policies-{width}" not in page.get_by_label("Collection", exact=True).inner_text()
    assert errors == []
    page.close()


def occupy_the_model(url: str, collection: str, answers: int = 3):
    """Long answers asked from elsewhere, so that the page's next question waits in line behind them."""
    import threading

    import httpx

    def one(n: int) -> None:
        question = f"Compare the meal allowances for domestic and foreign trips and explain how they differ ({n})."
        httpx.post(f"{url}/chat", json={"question": question, "style": "long", "cache": False,
                                        "collection": collection}, timeout=300)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(answers)]
    for thread in threads:
        thread.start()
    return threads


def test_conversations_last_and_answers_can_be_stopped_copied_and_opened(service, browser):
    """A conversation reopened after a reload; Stop while waiting in line (with elapsed time and the line's
    length shown, Enter ignored meanwhile); a switch never mixing turns; Copy; a cited PDF opened at its page."""
    from playwright.sync_api import expect

    url, _, _ = service
    context = browser.new_context(viewport=WIDTHS["desktop"], permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    chats = []
    page.on("request", lambda r: chats.append(r.post_data_json) if r.url.endswith("/chat") else None)
    page.goto(url)
    page.get_by_label("New collection").fill("kept")
    page.get_by_role("button", name="Create").click()
    page.locator("#files").set_input_files(PDF)
    expect(page.locator("#uploads .upload-status").last).to_contain_text("ingested", timeout=120_000)
    question = "What is the daily meal allowance for domestic trips?"
    answer = ask(page, question)
    text = answer.locator(".answer-text").inner_text()

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.split("[")[0].strip() == text.split("[")[0].strip()

    page.reload()  # the service kept it: the page reopens it
    expect(page.locator("#conversation li.question")).to_have_text([question])
    expect(page.locator("#conversation li.answer .answer-text")).to_have_text(text)
    latest = page.locator("#conversations .open-conversation").first  # the list, latest first
    expect(latest).to_have_text(question)
    expect(latest).to_have_attribute("aria-current", "true")
    page.screenshot(path=SHOTS / "desktop-8-reopened.png", full_page=True)

    with page.expect_popup() as opened:  # the cited PDF, in the browser's own viewer, at its page
        page.locator("#conversation .citations button.cite").first.click()
        page.get_by_role("button", name="Open the document").click()
    citation_page = page.locator("#citation-where").inner_text()
    assert "/file" in opened.value.url and (f"#page={citation_page.split()[1]}" in opened.value.url
                                             if citation_page.startswith("page") else True)
    opened.value.close()
    page.get_by_role("button", name="Close").click()

    busy = occupy_the_model(url, "kept")
    time.sleep(0.5)  # they hold the model, or wait for it, before the page asks
    page.get_by_label("Question").fill("How much is the hotel allowance?")
    page.get_by_label("Question").press("Enter")
    waiting = page.locator("#conversation li.answer").last
    expect(waiting.locator(".reading")).to_contain_text("Waiting for the model", timeout=60_000)
    expect(waiting.locator(".elapsed")).to_have_text(re.compile(r"\d+ s"), timeout=5_000)
    sent = len(chats)
    page.get_by_label("Question").fill("A second question while the first waits")
    page.get_by_label("Question").press("Enter")  # ignored while an answer runs
    page.screenshot(path=SHOTS / "desktop-9-waiting.png", full_page=True)
    page.get_by_role("button", name="Stop").click()
    expect(waiting.locator(".mark")).to_have_text("Stopped")
    expect(waiting.get_by_role("button", name="Regenerate")).to_be_visible()  # it can be asked again
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert len(chats) == sent

    page.get_by_label("Question").fill("What is the daily meal allowance for trips abroad?")
    page.get_by_label("Question").press("Enter")
    expect(page.locator("#conversation li.answer").last.locator(".reading")).to_contain_text("Waiting", timeout=60_000)
    page.get_by_role("button", name="New conversation").click()  # mid-answer: its turns never reach the new one
    expect(page.locator("#conversation li")).to_have_count(0)
    for thread in busy:
        thread.join()
    page.wait_for_timeout(1000)
    expect(page.locator("#conversation li")).to_have_count(0)
    page.locator("#conversations .open-conversation").filter(has_text=question).first.click()
    expect(page.locator("#conversation li.question").first).to_have_text(question)
    expect(page.locator("#conversation li.answer.stopped")).to_have_count(0)  # the stopped one kept no answer

    kept = page.locator("#conversations li").filter(has_text=question).first
    page.once("dialog", lambda dialog: dialog.accept("Meal allowances"))
    kept.get_by_role("button", name="Rename").click()
    renamed = page.locator("#conversations li").filter(has_text="Meal allowances")
    expect(renamed).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    renamed.get_by_role("button", name="Delete").click()
    expect(renamed).to_have_count(0)
    expect(page.locator("#conversation li")).to_have_count(0)  # the open one was deleted: a new one starts
    assert errors == []
    context.close()


def test_answers_render_markdown_safely(service, browser):
    """A model's Markdown shown as such, its HTML sanitised; a text document opened at the cited passage; the
    newest answer in view (the answer stream is stubbed: what the model writes cannot be chosen)."""
    import json

    from playwright.sync_api import expect

    url, _, _ = service
    page = browser.new_page(viewport=WIDTHS["desktop"])
    answer = ("The allowance is **45 euros** [1]:\n\n- domestic: 45 euros\n- abroad: by country\n\n"
              "<img src=x onerror=\"window.hacked=1\"><script>window.hacked=2</script>[click](javascript:alert(1))")
    done = {"answer": answer, "refused": False, "answered_by": "local", "citations": [
        {"number": 1, "document_id": "d", "source": "p.md", "name": "p.md", "page": None, "headings": "",
         "excerpt": "The meal allowance is 45 euros."}]}
    body = "".join(f"event: {k}\ndata: {json.dumps(v)}\n\n" for k, v in (
        ("sources", {"sources": []}), ("token", {"text": answer}), ("done", done)))
    page.route("**/chat", lambda route: route.fulfill(status=200, body=body, content_type="text/event-stream"))
    page.route("**/conversations", lambda route: route.fulfill(
        status=201 if route.request.method == "POST" else 200, content_type="application/json",
        body=json.dumps({"id": "c1", "collection": "default", "title": "", "created_at": "", "updated_at": ""}
                        if route.request.method == "POST" else [])))
    page.goto(url)
    shown = ask(page, "What is the meal allowance?").locator(".answer-text")
    expect(shown.locator("strong")).to_have_text("45 euros")
    expect(shown.locator("li")).to_have_count(2)
    expect(shown.locator("button.cite")).to_have_text("[1]")
    assert shown.locator("img, script").count() == 0 and page.evaluate("window.hacked") is None
    assert "javascript:" not in shown.inner_html()

    passages = [{"index": i, "page": 1, "headings": "", "text": t} for i, t in enumerate(
        ["Travel is booked in the portal.", "The meal allowance is 45 euros.", "Hotels up to 150 euros."])]
    page.route("**/documents/d/passages", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(passages)))
    shown.locator("button.cite").click()
    page.get_by_role("button", name="Open the document").click()  # not a PDF: its passages, the cited one marked
    expect(page.locator("#citation-document .passage")).to_have_count(3)
    expect(page.locator("#citation-document .cited")).to_have_text("The meal allowance is 45 euros.")
    page.get_by_role("button", name="Close").click()

    for n in range(5):  # the newest answer is scrolled into view, however long the conversation
        latest = ask(page, f"Question {n}?")
    expect(latest).to_be_in_viewport()
    page.close()


def test_an_api_key_once_auth_is_on(service, browser):
    from playwright.sync_api import expect

    url, data_dir, _ = service
    made = subprocess.run([sys.executable, "-m", "service", "keys", "create", "web"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "RAG_DATA_DIR": str(data_dir)}, check=True)
    key = made.stdout.strip().splitlines()[-1]
    for width, viewport in WIDTHS.items():
        page = browser.new_page(viewport=viewport)
        page.goto(url)
        field = page.get_by_label("API key")
        expect(field).to_be_visible()
        expect(field).to_be_focused()
        page.screenshot(path=SHOTS / f"{width}-7-key.png", full_page=True)
        field.fill(key)
        field.press("Enter")
        expect(page.get_by_label("Collection", exact=True)).to_have_value("default")
        expect(page.locator("#key-form")).to_be_hidden()
        page.close()
