// smallrag's page, the chat: conversations kept by the service, and asking (Stop, Regenerate, waiting in line).
// Uses app.js's helpers; answers.js shows the answers.
"use strict";

// -- conversations: kept by the service, listed, reopened after a reload --------------------------

function conversationItem(c) {
  const open = element("button", { type: "button", class: "open-conversation", onclick: () => openConversation(c.id),
                                   "aria-current": c.id === state.conversation ? "true" : "false" },
                       c.title || "New conversation");
  const rename = element("button", { type: "button", class: "small", "aria-label": `Rename ${c.title}`,
                                     onclick: () => renameConversation(c) }, "Rename");
  const remove = element("button", { type: "button", class: "small", "aria-label": `Delete ${c.title}`,
                                     onclick: () => deleteConversation(c) }, "Delete");
  return element("li", { "data-id": c.id }, open, element("small", {}, c.collection), rename, remove);
}

async function loadConversations() {
  const conversations = await api("/conversations");
  $("#conversations").replaceChildren(...conversations.map(conversationItem));
  return conversations;
}

async function renameConversation(c) {
  const title = prompt("Name this conversation", c.title);
  if (!title || !title.trim()) return;
  try {
    await api(`/conversations/${c.id}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify({ title: title.trim() }) });
    await loadConversations();
  } catch (error) { notice(`Could not rename it: ${error.message}`); }
}

async function deleteConversation(c) {
  if (!confirm(`Delete the conversation "${c.title || "New conversation"}"?`)) return;
  try {
    await api(`/conversations/${c.id}`, { method: "DELETE" });
    if (c.id === state.conversation) newConversation();
    await loadConversations();
  } catch (error) { notice(`Could not delete it: ${error.message}`); }
}

function setConversation(id) {
  state.conversation = id;
  if (id) localStorage.setItem("smallrag.conversation", id); else localStorage.removeItem("smallrag.conversation");
  for (const button of document.querySelectorAll(".open-conversation")) {
    button.setAttribute("aria-current", button.closest("li").dataset.id === id ? "true" : "false");
  }
}

// A conversation switch stops the answer on its way: its events never reach another conversation's turns.
function newConversation() {
  stopAnswer();
  setConversation(null);
  $("#conversation").replaceChildren();
}

async function openConversation(id) {
  stopAnswer();
  let conversation;
  try { conversation = await api(`/conversations/${id}`); } catch (error) {
    if (error.status === 404) { newConversation(); return; }
    throw error;
  }
  setConversation(id);
  const known = [...$("#collection").options].some((o) => o.value === conversation.collection);
  notice(known ? "" : `This conversation's collection, ${conversation.collection}, has been deleted: its answers `
                      + "stay readable, new questions cannot be answered from it.");
  if (known && conversation.collection !== state.collection) {
    state.collection = conversation.collection;
    localStorage.setItem("smallrag.collection", state.collection);
    $("#collection").value = state.collection;
    await loadDocuments();
  }
  const items = [];
  let question = "";
  for (const message of conversation.messages) {
    if (message.role === "user") {
      question = message.content;
      items.push(element("li", { class: "question" }, message.content));
    } else {
      const item = element("li", { class: "answer" }, element("div", { class: "answer-text" }));
      showAnswer(item, { answer: message.content, citations: message.citations, refused: message.refused,
                         answered_by: message.answered_by });
      items.push(item);
    }
  }
  $("#conversation").replaceChildren(...items);
  markLatest(question);
  items.at(-1)?.scrollIntoView({ block: "end" });
}

$("#new-conversation").addEventListener("click", () => { newConversation(); $("#question").focus(); });

// -- asking: one answer at a time, which Stop cancels (the service then stops writing it) ---------------

let running = null; // { controller, conversation } while an answer is on its way

function busy(on) {
  $("#send").hidden = on;
  $("#stop").hidden = !on;
  $("#question").setAttribute("aria-busy", on ? "true" : "false");
}

function stopAnswer() {
  if (running) running.controller.abort();
}

$("#stop").addEventListener("click", stopAnswer);

$("#question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (!running) $("#ask-form").requestSubmit(); // Enter while an answer runs does nothing
  }
});

$("#ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = $("#question").value.trim();
  if (!question || running) return;
  $("#question").value = "";
  await ask(question);
  $("#question").focus();
});

async function ensureConversation() {
  if (state.conversation) return state.conversation;
  const made = await api("/conversations", { method: "POST", headers: { "Content-Type": "application/json" },
                                             body: JSON.stringify({ collection: state.collection }) });
  setConversation(made.id);
  return made.id;
}

// again: the last question answered anew (Regenerate): its last answer is replaced, never from the cache.
async function ask(question, again = false) {
  const controller = new AbortController();
  running = { controller };
  busy(true);
  const list = $("#conversation");
  if (!again) list.append(element("li", { class: "question" }, question));
  const text = element("div", { class: "answer-text" });
  const reading = element("p", { class: "reading" }, "Searching your documents…");
  const elapsed = element("span", { class: "elapsed" }, "");
  const item = element("li", { class: "answer", "aria-busy": "true" }, reading, elapsed, text);
  list.append(item);
  item.scrollIntoView({ block: "end" });
  const started = Date.now();
  const clock = setInterval(() => { elapsed.textContent = `${Math.round((Date.now() - started) / 1000)} s`; }, 1000);
  try {
    const conversation = await ensureConversation();
    running.conversation = conversation;
    const body = again ? { conversation_id: conversation, regenerate: true, stream: true }
                       : { conversation_id: conversation, question, stream: true };
    const response = await fetch("/chat", { method: "POST", signal: controller.signal,
                                            headers: headers({ "Content-Type": "application/json" }),
                                            body: JSON.stringify(body) });
    if (!response.ok) return await refusedRequest(item, response);
    await follow(response, item, reading, text, question);
  } catch (error) {
    if (error.name === "AbortError") stopped(item, text, question);
    else failed(item, error.status ? error.message : "the service cannot be reached");
  } finally {
    clearInterval(clock);
    elapsed.remove();
    running = null;
    busy(false);
    loadConversations().catch(() => {});
  }
}

async function refusedRequest(item, response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (response.status === 401) askForKey("This service needs an API key.");
  const wait = response.headers.get("Retry-After");
  failed(item, `${(body && body.detail) || `HTTP ${response.status}`}${wait ? ` (try again in ${wait} s)` : ""}`);
}

async function follow(response, item, reading, text, question) {
  for await (const [kind, data] of events(response)) {
    if (kind === "waiting") {
      const ahead = data.ahead === 1 ? "1 answer" : `${data.ahead} answers`;
      reading.textContent = `Waiting for the model: ${ahead} ahead (about ${Math.round(data.expected_s)} s)…`;
    } else if (kind === "sources") {
      const names = [...new Set(data.sources.map((s) => s.name))];
      reading.textContent = names.length ? `Reading ${data.sources.length} passages from ${names.join(", ")}…`
                                         : "Nothing in your documents matches this question.";
    } else if (kind === "token") {
      text.textContent += data.text;
      item.scrollIntoView({ block: "end" });
    } else if (kind === "done") {
      reading.remove();
      showAnswer(item, data);
      markLatest(question);
      item.scrollIntoView({ block: "end" });
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

function stopped(item, text, question) {
  item.setAttribute("aria-busy", "false");
  item.classList.add("stopped");
  item.replaceChildren(element("p", { class: "mark" }, "Stopped"), text, element("div", { class: "answer-actions" }));
  if (item.isConnected) markLatest(question); // the stopped question can be asked again (not after a switch)
}
