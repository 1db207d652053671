// smallrag's page, the answers: rendered as sanitised Markdown with their citations as buttons, Copy and
// Regenerate, and a cited document opened (a PDF at its page, others at the passage).
"use strict";

// -- answers: Markdown rendered and sanitised (vendored marked + DOMPurify), [n] markers as sources --------

function renderMarkdown(target, markdown, byNumber) {
  const html = DOMPurify.sanitize(marked.parse(markdown, { gfm: true, breaks: true }),
                                  { FORBID_TAGS: ["img", "style", "form", "input"], FORBID_ATTR: ["style"] });
  target.innerHTML = html;
  for (const link of target.querySelectorAll("a")) { link.target = "_blank"; link.rel = "noopener noreferrer"; }
  const walker = document.createTreeWalker(target, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (/\[\d+\]/.test(walker.currentNode.nodeValue)) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = node.nodeValue.split(/(\[\d+\])/).map((part) => {
      const citation = byNumber.get(Number((part.match(/^\[(\d+)\]$/) || [])[1]));
      return citation ? citeButton(citation, part) : document.createTextNode(part);
    });
    node.replaceWith(...parts);
  }
}

function showAnswer(item, done) {
  const byNumber = new Map(done.citations.map((c) => [c.number, c]));
  const text = item.querySelector(".answer-text");
  renderMarkdown(text, done.answer, byNumber);
  item.dataset.answer = done.answer;
  if (done.refused) {
    item.classList.add("refused");
    item.prepend(element("p", { class: "mark" }, "Not found in your documents"));
  }
  const by = { large: "Answered by the large model", cache: "From the answer cache" }[done.answered_by];
  if (by) item.append(element("p", { class: "badge", title: done.answered_by_detail || "" }, by));
  if (done.citations.length) {
    item.append(element("ul", { class: "citations", "aria-label": "Sources" },
      ...done.citations.map((c) => element("li", {}, citeButton(c, `[${c.number}] ${c.name}${c.page ? `, page ${c.page}` : ""}`)))));
  }
  const copy = element("button", { type: "button", class: "small copy" }, "Copy");
  copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(done.answer); copy.textContent = "Copied"; }
    catch { copy.textContent = "Copy failed"; }
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  });
  item.append(element("div", { class: "answer-actions" }, copy));
}

// Only the latest answer can be asked for again.
function markLatest(question) {
  for (const old of document.querySelectorAll("#conversation .regenerate")) old.remove();
  const last = [...document.querySelectorAll("#conversation .answer")].at(-1);
  if (!last || !question) return;
  const actions = last.querySelector(".answer-actions") || last.appendChild(element("div", { class: "answer-actions" }));
  actions.append(element("button", { type: "button", class: "small regenerate",
                                     onclick: () => regenerate(last, question) }, "Regenerate"));
}

async function regenerate(item, question) {
  if (running) return; // an answer is on its way
  item.remove();
  await ask(question, true);
}

function citeButton(citation, label) {
  const name = `Source ${citation.number}: ${citation.name}${citation.gone ? " (deleted)" : ""}`;
  return element("button", { type: "button", class: `cite${citation.gone ? " gone" : ""}`, "aria-label": name,
                             onclick: () => showCitation(citation) }, label);
}

// -- a citation: its passage, and its document opened (a PDF at its page, others at the passage) ----------

function showCitation(citation) {
  $("#citation-title").textContent = `[${citation.number}] ${citation.name}`;
  $("#citation-where").textContent = [citation.page ? `page ${citation.page}` : "", citation.headings || "",
                                      citation.gone ? "this document has been deleted since" : ""]
    .filter(Boolean).join(" · ");
  $("#citation-excerpt").textContent = citation.excerpt;
  $("#citation-document").replaceChildren();
  const open = $("#open-document");
  open.hidden = Boolean(citation.gone);
  open.onclick = () => openDocument(citation);
  $("#citation").showModal();
}

async function openDocument(citation) {
  if (/\.pdf$/i.test(citation.name)) return openPdf(citation);
  try {
    const passages = await api(`/documents/${citation.document_id}/passages`);
    const wanted = citation.excerpt.replace(/^… |\s…$/g, "").slice(0, 80);
    const items = passages.map((p) => element("p", { class: p.text.includes(wanted) ? "passage cited" : "passage" },
                                                p.text));
    $("#citation-document").replaceChildren(...items);
    $("#citation-document .cited")?.scrollIntoView({ block: "center" });
  } catch (error) { $("#citation-document").replaceChildren(element("p", {}, `Cannot open it: ${error.message}`)); }
}

// The browser's own PDF viewer, at the cited page. With a key the file is fetched with it, then shown.
async function openPdf(citation) {
  const page = citation.page ? `#page=${citation.page}` : "";
  const url = `/documents/${citation.document_id}/file`;
  if (!state.key) { window.open(url + page, "_blank", "noopener"); return; }
  const tab = window.open("", "_blank");
  try {
    const response = await fetch(url, { headers: headers() });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    tab.location = URL.createObjectURL(await response.blob()) + page;
  } catch (error) {
    tab?.close();
    $("#citation-document").replaceChildren(element("p", {}, `Cannot open it: ${error.message}`));
  }
}

