// The agent workbench: the live inbox, a conversation with its card, and the agent's actions.
import { followEvents } from "/web/sse.js";

const $ = (id) => document.getElementById(id);
const tickets = new Map();
let current = null, feed = null;
const key = () => sessionStorage.getItem("frontdesk.agent") || "";
const name = () => sessionStorage.getItem("frontdesk.agent-name") || "";
// The key is sent only as the key. X-Agent-Id names the agent in development mode (no keys).
const headers = () => ({ "X-API-Key": key(), ...(name() ? { "X-Agent-Id": name() } : {}) });

async function api(path, options = {}) {
  const response = await fetch(`/api/v1/agent${path}`, {
    ...options, headers: { "Content-Type": "application/json", ...headers(), ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.detail || response.statusText), { status: response.status });
  return body;
}

function renderInbox() {
  const list = [...tickets.values()].filter((c) => c.status === "pending");
  const rank = { urgent: 0, high: 1, normal: 2, low: 3 };
  list.sort((a, b) => rank[a.priority] - rank[b.priority] || a.created_at.localeCompare(b.created_at));
  $("inbox").replaceChildren(...list.map((card) => {
    const li = document.createElement("li");
    li.className = "ticket"; li.dataset.testid = "ticket"; li.dataset.ticket = card.ticket_id;
    const prio = document.createElement("span");
    prio.className = `prio ${card.priority}`; prio.textContent = card.priority;
    const reason = document.createElement("strong");
    reason.textContent = card.reason.replaceAll("_", " ");
    const summary = document.createElement("p");
    summary.className = "summary"; summary.textContent = card.summary;
    li.append(prio, " ", reason, summary);
    const open = document.createElement("button");
    open.textContent = "Open"; open.dataset.testid = "open";
    open.addEventListener("click", () => openTicket(card.ticket_id));
    li.append(open);
    return li;
  }));
  $("empty").hidden = list.length > 0;
}

function line(role, text, who) {
  const el = document.createElement("div");
  el.className = `line ${role}`; el.dataset.testid = `line-${role}`;
  el.textContent = who ? `${who}: ${text}` : text;
  $("conversation").append(el);
  $("conversation").scrollTop = $("conversation").scrollHeight;
}

function showCard(card) {
  const rows = [
    ["Customer", `${card.user_id} (${card.member_level})`], ["Channel", card.channel],
    ["Reason", card.reason.replaceAll("_", " ")], ["Priority", card.priority],
    ["Status", card.agent_id ? `${card.status} · ${card.agent_id}` : card.status],
    ["Emotion", card.emotion_score], ["Turns", card.turn_count], ["Summary", card.summary],
    ["Bot tried", (card.bot_tried || []).join("; ") || "—"], ["Session", card.session_id],
  ];
  $("card").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v; dd.dataset.testid = `card-${k.toLowerCase().replace(" ", "-")}`;
    return [dt, dd];
  }));
}

async function openTicket(ticketId) {
  const view = await api(`/escalations/${encodeURIComponent(ticketId)}`);
  current = view.card; tickets.set(current.ticket_id, current);
  $("detail").hidden = false; $("pick").hidden = true; $("problem").textContent = "";
  $("draft-form").hidden = true; $("save-draft").disabled = false;
  showCard(current);
  $("conversation").replaceChildren();
  for (const m of view.history) line(m.role, m.content, m.role === "agent" ? m.turn_id : null);
}

async function act(path, body) {
  $("problem").textContent = "";
  try {
    const result = await api(`/escalations/${encodeURIComponent(current.ticket_id)}${path}`, { method: "POST", body: body && JSON.stringify(body) });
    current = result.card; tickets.set(current.ticket_id, current);
    showCard(current); renderInbox();
    return true;
  } catch (err) {
    $("problem").textContent = err.status === 409 ? `Can't do that: ${err.message}.` : err.message;
    return false;
  }
}

$("claim").addEventListener("click", () => act("/claim"));
// Once resolved, the agent may turn the customer's question and their own answer into a
// draft FAQ entry, for an admin to review and publish.
function offerDraft() {
  const said = (role) => [...$("conversation").querySelectorAll(`.line.${role}`)].map((el) => el.textContent);
  const agentPrefix = `${current.agent_id}: `;
  $("draft-question").value = said("user")[0] || "";
  $("draft-answer").value = (said("agent").at(-1) || "").replace(agentPrefix, "");
  $("draft-status").textContent = "";
  $("draft-form").hidden = false;
}

$("resolve").addEventListener("click", async () => { if (await act("/resolve")) offerDraft(); });
$("draft-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/v1/knowledge-bases/default/drafts", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers() },
    body: JSON.stringify({ question: $("draft-question").value.trim(), answer: $("draft-answer").value.trim(),
                           ticket_id: current.ticket_id }),
  });
  const body = await response.json().catch(() => ({}));
  $("draft-status").textContent = response.ok ? `Saved as ${body.draft_id}: an admin will review it.` : `Not saved: ${body.detail || response.statusText}`;
  if (response.ok) $("save-draft").disabled = true;
});
$("hand-back").addEventListener("click", () => act("/hand-back"));
$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("reply").value.trim();
  if (!text) return;
  if (await act("/messages", { text })) { line("agent", text, current.agent_id); $("reply").value = ""; }
});

async function start() {
  $("who").textContent = key() ? "Signed in" : "";
  if (feed) feed.abort();
  feed = new AbortController();
  // Subscribe first, then list: nothing that happens in between is missed.
  followEvents("/api/v1/agent/feed", headers(), (name, data) => {
    if (name.startsWith("escalation_")) {
      tickets.set(data.ticket_id, data); renderInbox();
      if (current && current.ticket_id === data.ticket_id) { current = data; showCard(data); }
    } else if (name === "customer_message" && current && data.ticket_id === current.ticket_id) {
      line("user", data.text);
    }
  }, feed.signal);
  try {
    const { escalations } = await api("/escalations");
    for (const card of escalations) tickets.set(card.ticket_id, card);
    renderInbox();
  } catch (err) {
    $("who").textContent = err.status === 401 ? "Wrong agent key" : err.message;
  }
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("frontdesk.agent", $("agent-key").value);
  sessionStorage.setItem("frontdesk.agent-name", $("agent-name").value.trim());
  start();
});
if (key()) start();
