// smallrag's page: upload documents, follow their ingest jobs, pick collections (here), and chat over a collection
// with streamed, cited answers (chat.js). Plain JavaScript against the service's own API; nothing is fetched from
// anywhere else.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = {
  key: localStorage.getItem("smallrag.key") || "",
  collection: localStorage.getItem("smallrag.collection") || "default",
  conversation: localStorage.getItem("smallrag.conversation"), // kept by the service: reopened after a reload
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
  const kept = state.conversation; // the one open before a reload (a question asked meanwhile starts its own)
  try {
    await refresh();
    await loadConversations();
    if (kept && state.conversation === kept && !running && !$("#conversation").children.length) {
      await openConversation(kept);
    }
    notice("");
  } catch (error) {
    if (error.status !== 401) notice(`The service cannot be reached: ${error.message}`);
  }
}

document.addEventListener("DOMContentLoaded", start); // after chat.js, which it needs
