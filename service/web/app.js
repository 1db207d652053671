// smallrag's page: upload documents, follow their ingest jobs, chat over a collection with streamed, cited
// answers. Plain JavaScript against the service's own API; nothing is fetched from anywhere else.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = {
  key: localStorage.getItem("smallrag.key") || "",
  collection: localStorage.getItem("smallrag.collection") || "default",
  messages: [], // the conversation so far: follow-up questions are asked with it
};

class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    super(typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : `HTTP ${status}`);
    this.status = status;
  }
}

function headers(extra = {}) {
  return state.key ? { ...extra, Authorization: `Bearer ${state.key}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (response.status === 401) askForKey(state.key ? "This key is not valid." : "This service needs an API key.");
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, body);
  }
  return response.status === 204 ? null : response.json();
}

function notice(message) {
  const element = $("#notice");
  element.textContent = message || "";
  element.hidden = !message;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// -- API key ----------------------------------------------------------------------------------

function askForKey(message) {
  $("#key-form").hidden = false;
  $("#key-message").textContent = message;
  $("#api-key").focus();
}

$("#key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.key = $("#api-key").value.trim();
  localStorage.setItem("smallrag.key", state.key);
  $("#key-form").hidden = true;
  await start();
});

// -- collections ------------------------------------------------------------------------------

async function loadCollections() {
  const collections = await api("/collections");
  if (!collections.some((c) => c.name === state.collection)) state.collection = "default";
  const select = $("#collection");
  select.replaceChildren(...collections.map((c) =>
    element("option", { value: c.name }, `${c.name} (${c.documents})`)));
  select.value = state.collection;
}

$("#collection").addEventListener("change", async (event) => {
  state.collection = event.target.value;
  localStorage.setItem("smallrag.collection", state.collection);
  newConversation();
  await loadDocuments();
});

$("#new-collection-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#new-collection").value.trim();
  try {
    await api("/collections", { method: "POST", headers: { "Content-Type": "application/json" },
                                body: JSON.stringify({ name }) });
    state.collection = name;
    localStorage.setItem("smallrag.collection", name);
    $("#new-collection").value = "";
    notice("");
    await refresh();
  } catch (error) { notice(`Could not create ${name}: ${error.message}`); }
});

$("#delete-collection").addEventListener("click", async () => {
  const name = state.collection;
  const what = name === "default" ? "Empty the default collection" : `Delete the collection ${name}`;
  if (!confirm(`${what} and all its documents?`)) return;
  try {
    await api(`/collections/${encodeURIComponent(name)}`, { method: "DELETE" });
    state.collection = "default";
    newConversation();
    await refresh();
  } catch (error) { notice(`Could not delete ${name}: ${error.message}`); }
});

// -- documents --------------------------------------------------------------------------------

async function loadDocuments() {
  const documents = await api(`/documents?collection=${encodeURIComponent(state.collection)}`);
  const rows = documents.map((d) => element("tr", { "data-id": d.id },
    element("td", {}, d.name),
    element("td", { class: `status ${d.status}`, title: d.error || "" }, d.status,
            d.error ? element("small", { class: "reason" }, d.error) : null),
    element("td", {}, d.pages == null ? "–" : String(d.pages)),
    element("td", {}, String(d.chunks)),
    element("td", {}, element("button", { type: "button", "aria-label": `Delete ${d.name}`,
                                          onclick: () => deleteDocument(d) }, "Delete"))));
  $("#document-table tbody").replaceChildren(...rows);
  $("#document-table").hidden = documents.length === 0;
  $("#no-documents").hidden = documents.length !== 0;
  return documents;
}

async function deleteDocument(doc) {
  if (!confirm(`Delete ${doc.name}?`)) return;
  try {
    await api(`/documents/${doc.id}`, { method: "DELETE" });
    await refresh();
  } catch (error) { notice(`Could not delete ${doc.name}: ${error.message}`); }
}

// -- uploads: one request per file, for its own progress bar ---------------------------------------

function uploadFile(file) {
  const status = element("span", { class: "upload-status" }, "uploading");
  const bar = element("progress", { max: "100", value: "0", "aria-label": `${file.name} upload progress` });
  $("#uploads").append(element("li", {}, element("span", { class: "upload-name" }, file.name), bar, status));
  const form = new FormData();
  form.append("files", file);
  form.append("collection", state.collection);
  const request = new XMLHttpRequest();
  request.open("POST", "/documents");
  for (const [name, value] of Object.entries(headers())) request.setRequestHeader(name, value);
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) bar.value = Math.round((100 * event.loaded) / event.total);
  };
  request.onload = () => {
    let body = null;
    try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
    if (request.status === 202) {
      bar.value = 100;
      status.textContent = "queued";
      followJob(body.job_id, status, bar);
    } else {
      if (request.status === 401) askForKey("This service needs an API key.");
      status.textContent = `failed: ${(body && body.detail) || `HTTP ${request.status}`}`;
      status.className = "upload-status failed";
    }
  };
  request.onerror = () => { status.textContent = "failed: the service cannot be reached"; status.className = "upload-status failed"; };
  request.send(form);
}

async function followJob(jobId, status, bar) {
  for (;;) {
    let job;
    try { job = await api(`/jobs/${jobId}`); } catch (error) { status.textContent = `unknown: ${error.message}`; return; }
    if (job.status === "done" || job.status === "failed") {
      const file = job.files[0] || {};
      const ok = file.outcome && file.outcome !== "failed";
      status.textContent = ok ? `${file.outcome}${file.chunks ? ` (${file.chunks} chunks)` : ""}`
                              : `failed: ${file.reason || job.error || "unknown reason"}`;
      status.className = `upload-status ${ok ? "done" : "failed"}`;
      bar.hidden = true;
      await refresh();
      return;
    }
    status.textContent = job.status === "running" ? "ingesting" : "queued";
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

function uploadAll(files) {
  for (const file of files) uploadFile(file);
}

$("#files").addEventListener("change", (event) => { uploadAll(event.target.files); event.target.value = ""; });
const dropzone = $("#dropzone");
dropzone.addEventListener("dragover", (event) => { event.preventDefault(); dropzone.classList.add("over"); });
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  uploadAll(event.dataTransfer.files);
});

// -- chat -------------------------------------------------------------------------------------

function newConversation() {
  state.messages = [];
  $("#conversation").replaceChildren();
}

$("#new-conversation").addEventListener("click", () => { newConversation(); $("#question").focus(); });

$("#question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("#ask-form").requestSubmit();
  }
});

$("#ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = $("#question").value.trim();
  if (!question) return;
  $("#question").value = "";
  $("#send").disabled = true;
  try { await ask(question); } finally { $("#send").disabled = false; $("#question").focus(); }
});

// fresh: a new answer, not the cached one (Regenerate)
async function ask(question, fresh = false) {
  $("#conversation").append(element("li", { class: "question" }, question));
  const text = element("div", { class: "answer-text" });
  const reading = element("p", { class: "reading" }, "Searching your documents…");
  const item = element("li", { class: "answer", "aria-busy": "true" }, reading, text);
  $("#conversation").append(item);
  item.scrollIntoView({ block: "end" });
  const messages = [...state.messages, { role: "user", content: question }].slice(-20);
  let response;
  try {
    response = await fetch("/chat", {
      method: "POST", headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ messages, collection: state.collection, stream: true, cache: !fresh }),
    });
  } catch { return failed(item, "the service cannot be reached"); }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    if (response.status === 401) askForKey("This service needs an API key.");
    const wait = response.headers.get("Retry-After");
    return failed(item, `${(body && body.detail) || `HTTP ${response.status}`}${wait ? ` (try again in ${wait} s)` : ""}`);
  }
  for await (const [kind, data] of events(response)) {
    if (kind === "sources") {
      const names = [...new Set(data.sources.map((s) => s.name))];
      reading.textContent = names.length ? `Reading ${data.sources.length} passages from ${names.join(", ")}…`
                                         : "Nothing in your documents matches this question.";
    } else if (kind === "token") {
      text.textContent += data.text;
    } else if (kind === "done") {
      reading.remove();
      showAnswer(item, text, data, question);
      state.messages.push({ role: "user", content: question }, { role: "assistant", content: data.answer });
    } else if (kind === "error") {
      return failed(item, data.detail);
    }
  }
  item.setAttribute("aria-busy", "false");
}

async function* events(response) {
  // Server-sent events from a POST: EventSource only does GET.
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) yield [kind, JSON.parse(data)];
    }
  }
}

function failed(item, message) {
  item.setAttribute("aria-busy", "false");
  item.classList.add("error");
  item.replaceChildren(element("p", {}, `Could not answer: ${message}`));
}

function showAnswer(item, text, done, question) {
  const byNumber = new Map(done.citations.map((c) => [c.number, c]));
  text.replaceChildren();
  // The answer's [n] markers become buttons that show the passage.
  for (const part of done.answer.split(/(\[\d+\])/)) {
    const citation = byNumber.get(Number((part.match(/^\[(\d+)\]$/) || [])[1]));
    text.append(citation ? citeButton(citation, part) : part);
  }
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
  // The latest answer can be asked for again, fresh (bypassing the answer cache).
  for (const old of document.querySelectorAll("#conversation .regenerate")) old.remove();
  item.append(element("button", { type: "button", class: "regenerate", onclick: () => regenerate(item, question) },
                      "Regenerate"));
}

async function regenerate(item, question) {
  if ($("#send").disabled) return; // an answer is on its way
  item.previousElementSibling?.remove(); // its question, asked again below
  item.remove();
  state.messages.splice(-2, 2);
  $("#send").disabled = true;
  try { await ask(question, true); } finally { $("#send").disabled = false; }
}

function citeButton(citation, label) {
  return element("button", { type: "button", class: "cite", onclick: () => showCitation(citation),
                             "aria-label": `Source ${citation.number}: ${citation.name}` }, label);
}

function showCitation(citation) {
  $("#citation-title").textContent = `[${citation.number}] ${citation.name}`;
  $("#citation-where").textContent = [citation.page ? `page ${citation.page}` : "", citation.headings || ""]
    .filter(Boolean).join(" · ");
  $("#citation-excerpt").textContent = citation.excerpt;
  $("#citation").showModal();
}

// -- start ------------------------------------------------------------------------------------

let refreshing = null; // one timer while documents are pending

async function refresh() {
  await loadCollections();
  const documents = await loadDocuments();
  if (documents.some((d) => d.status === "pending") && !refreshing) {
    refreshing = setTimeout(() => { refreshing = null; refresh().catch(() => {}); }, 2000);
  }
}

async function start() {
  try {
    await refresh();
    notice("");
  } catch (error) {
    if (error.status !== 401) notice(`The service cannot be reached: ${error.message}`);
  }
}

start();
