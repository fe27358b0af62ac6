// The customer chat widget: streams replies, shows sources and the hand-off to an agent.
import { readEvents, followEvents } from "/web/sse.js";

const log = document.getElementById("log");
const status = document.getElementById("status");
const keyInput = document.getElementById("key");
// The key comes from the settings field (kept in this browser), never from the address: a key
// in a URL ends up in history, bookmarks, proxy logs and screenshots.
keyInput.value = localStorage.getItem("frontdesk.key") || "";
keyInput.addEventListener("change", () => localStorage.setItem("frontdesk.key", keyInput.value));
let sessionId = sessionStorage.getItem("frontdesk.session");
let following = null;

const headers = () => (keyInput.value ? { "X-API-Key": keyInput.value } : {});

function add(kind, text, who) {
  const el = document.createElement("div");
  el.className = kind === "note" ? "note" : `msg ${kind}`;
  el.dataset.testid = kind;
  if (who) { const w = document.createElement("span"); w.className = "who"; w.textContent = who; el.append(w); }
  const body = document.createElement("span"); body.className = "body"; body.textContent = text;
  el.append(body);
  log.append(el);
  log.scrollTop = log.scrollHeight;
  return el;
}

function showSources(el, meta) {
  if (!meta.sources || !meta.sources.length) return;
  const box = document.createElement("div");
  box.className = "sources"; box.dataset.testid = "sources";
  box.append("Sources: ");
  const refs = meta.references?.length ? meta.references : meta.sources.map((s) => ({ doc_name: s }));
  const seen = new Set();
  for (const ref of refs) {
    if (seen.has(ref.doc_name)) continue;  // one chip per document; its best snippet on hover
    seen.add(ref.doc_name);
    const chip = document.createElement("span");
    chip.textContent = ref.doc_name;
    if (ref.snippet) chip.title = ref.snippet;
    box.append(chip);
  }
  el.append(box);
}

const postJson = (path, body) => fetch(path, {
  method: "POST", headers: { "Content-Type": "application/json", ...headers() }, body: JSON.stringify(body),
});

// "Helpful" and "Not helpful" under a bot answer: a later click replaces the earlier rating.
function offerRating(el, turnId) {
  const row = document.createElement("div");
  row.className = "rate"; row.dataset.testid = "rate";
  for (const [rating, label] of [["up", "✓ Helpful"], ["down", "✗ Not helpful"]]) {
    const button = document.createElement("button");
    button.type = "button"; button.textContent = label;
    button.setAttribute("aria-pressed", "false");
    button.dataset.testid = `rate-${rating}`;
    button.addEventListener("click", async () => {
      const response = await postJson(`/api/v1/turns/${encodeURIComponent(turnId)}/feedback`, { rating });
      if (!response.ok) return;
      for (const other of row.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
    });
    row.append(button);
  }
  el.append(row);
}

// After an agent leaves: an optional 1-5 score of how they did.
function offerAgentScore(agentId) {
  const box = add("note", `How did ${agentId} do? `);
  box.dataset.testid = "csat";
  for (let score = 1; score <= 5; score++) {
    const button = document.createElement("button");
    button.type = "button"; button.className = "score"; button.textContent = String(score);
    button.setAttribute("aria-label", `${score} out of 5`);
    button.addEventListener("click", async () => {
      const response = await postJson(`/api/v1/sessions/${encodeURIComponent(sessionId)}/csat`, { score });
      if (!response.ok) return;
      box.querySelector(".body").textContent = `Thank you: you gave ${agentId} ${score} out of 5.`;
      for (const other of box.querySelectorAll("button")) other.remove();
    });
    box.append(button);
  }
}

function follow() {
  if (following || !sessionId) return;
  following = new AbortController();
  followEvents(`/api/v1/sessions/${encodeURIComponent(sessionId)}/events`, headers(), (name, data) => {
    if (name === "queued") {
      status.textContent = "Waiting for a human agent";
      add("note", data.position ? `You're number ${data.position} in the queue for a human agent.` : "You're in the queue for a human agent.");
    } else if (name === "agent_joined") {
      status.textContent = `You're chatting with ${data.agent_id}`;
      add("note", `${data.agent_id} (a human agent) joined the conversation.`);
    } else if (name === "agent_message") {
      add("agent", data.text, `${data.agent_id} · agent`);
    } else if (name === "agent_left") {
      status.textContent = "Ask us anything: shipping, returns, orders…";
      add("note", `${data.agent_id} left the conversation. The assistant is back to help.`);
      offerAgentScore(data.agent_id);
    } else if (name === "ticket_created") {
      add("note", `Ticket ${data.ticket_id} opened; an agent will reply when they are back.`);
    }
  }, following.signal);
}

document.getElementById("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("message");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  add("user", text);
  const send = document.getElementById("send");
  send.disabled = true;
  let bubble = null, body = null;
  try {
    const response = await fetch("/api/v1/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers() },
      body: JSON.stringify({ message: text, session_id: sessionId, channel: "web" }),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      add("note", `Sorry: ${problem.detail || response.statusText}`);
      return;
    }
    sessionId = response.headers.get("X-Session-Id") || sessionId;
    sessionStorage.setItem("frontdesk.session", sessionId);
    follow();
    await readEvents(response, (name, data) => {
      if (name === "meta") {
        if (data.intent === "transfer_to_human" && data.escalate && !data.sources.length) {
          status.textContent = "Connecting you to a human agent";
        }
        bubble = add("bot", "", "Assistant"); body = bubble.querySelector(".body");
        showSources(bubble, data);
      } else if (name === "token") {
        body.textContent += data.content;  // the typewriter: text appears as it streams
        log.scrollTop = log.scrollHeight;
      } else if (name === "done") {
        if (!data.answer && bubble) bubble.remove();  // an agent holds the chat: no bot reply
        else if (bubble && data.turn_id) offerRating(bubble, data.turn_id);
      } else if (name === "error") {
        add("note", `Sorry: ${data.message}`);
      }
    });
  } catch (err) {
    add("note", "Connection problem; please try again.");
  } finally {
    send.disabled = false;
    input.focus();
  }
});
const address = new URL(location.href);
if (address.searchParams.has("key")) {
  address.searchParams.delete("key");
  history.replaceState(null, "", address);
  add("note", "Keys are not read from the address. Enter yours under Connection settings.");
}
follow();
