"""The web page end to end in headless Chromium (Debian's, driven by Playwright; never a downloaded browser)
against `rag serve` as a process with SmolLM2: upload a PDF, watch it become ingested, ask, see the sources
while the model reads and a cited answer, open a citation, ask a follow-up, see an answer come from the
cache and regenerate it fresh, ask what the documents do not answer and see the refusal, delete the document; then an API key, once
auth is on. A screenshot of every step, at desktop and phone width, goes to test-artifacts/web/."""

import os
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

    ask(page, "And for trips abroad?")
    assert [m["role"] for m in sent[-1]["messages"]] == ["user", "assistant", "user"]  # one conversation

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#conversation li")).to_have_count(0)
    again = ask(page, "What is the daily meal allowance for domestic trips?")
    assert [m["role"] for m in sent[-1]["messages"]] == ["user"]
    expect(again.locator(".badge")).to_have_text("From the answer cache")
    assert sent[-1]["cache"] is True

    again.get_by_role("button", name="Regenerate").click()  # the same question, a fresh answer
    fresh = page.locator("#conversation li.answer").last
    fresh.and_(page.locator("[aria-busy=false]")).wait_for(timeout=120_000)
    assert sent[-1]["cache"] is False and [m["role"] for m in sent[-1]["messages"]] == ["user"]
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
