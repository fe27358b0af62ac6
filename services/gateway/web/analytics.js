// The outcomes page: the summary's figures, a daily chart and the knowledge gaps (admin key).
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const REASONS = ["explicit_request", "failed_attempts", "negative_emotion", "ticket", "business_system_down"];
const COLOURS = { explicit_request: "#1f4fd1", failed_attempts: "#e07b00", negative_emotion: "#c0392b",
                  ticket: "#7d5fb2", business_system_down: "#5a6272" };
const keyInput = $("admin-key");
keyInput.value = sessionStorage.getItem("frontdesk.admin") || "";

async function call(path, method = "GET", body = undefined) {
  const headers = keyInput.value ? { "X-API-Key": keyInput.value } : {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail || response.statusText);
  return answer;
}
const get = (path) => call(path);
const DRAFTS = "/api/v1/knowledge-bases/default/drafts";

const percent = (rate) => (rate === null ? "–" : `${Math.round(rate * 100)}%`);

function showFigures(s) {
  const figures = [
    ["Conversations", s.conversations], ["Turns", s.turns], ["Resolved by the bot", s.resolved_by_bot],
    ["Containment", percent(s.containment_rate)], ["Handed to agents", s.handed_off],
    ["No answer in the help centre", s.no_answer_turns], ["Reopened", s.reopened],
    ["Rated helpful / not", `${s.feedback.up} / ${s.feedback.down}`],
    ["Agent score", s.agent_csat.mean === null ? "–" : `${s.agent_csat.mean} (${s.agent_csat.count})`],
    ["Median first token", s.median_time_to_first_token_ms === null ? "–" : `${Math.round(s.median_time_to_first_token_ms)} ms`],
  ];
  $("figures").replaceChildren(...figures.map(([label, value]) => {
    const box = document.createElement("div");
    const dt = document.createElement("dt"); dt.textContent = label;
    const dd = document.createElement("dd"); dd.textContent = String(value);
    dd.dataset.testid = `figure-${label}`;
    box.append(dt, dd);
    return box;
  }));
}

function node(name, attributes, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// Stacked bars: hand-offs by reason (left axis); the green line: containment (0-100%, right).
function showChart(days) {
  const width = 900, height = 240, left = 36, right = 40, top = 12, bottom = 28;
  const plotW = width - left - right, plotH = height - top - bottom;
  const most = Math.max(1, ...days.map((d) => d.handed_off));
  const step = plotW / days.length, bar = Math.max(2, step * 0.6);
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
                            "aria-label": "Hand-offs by reason and containment, by day" });
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH * (1 - fraction);
    svg.append(node("line", { x1: left, x2: width - right, y1: y, y2: y, stroke: "#e3e7ef" }));
    if (Number.isInteger(most * fraction)) {  // whole hand-offs only on the left axis
      svg.append(node("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, String(most * fraction)));
    }
    svg.append(node("text", { x: width - right + 6, y: y + 4 }, `${fraction * 100}%`));
  }
  const points = [];
  days.forEach((day, i) => {
    const x = left + i * step + (step - bar) / 2;
    let y = top + plotH;
    for (const reason of REASONS) {
      const count = day.handoff_reasons[reason] || 0;
      if (!count) continue;
      const h = (count / most) * plotH;
      y -= h;
      const rect = node("rect", { x, y, width: bar, height: h, fill: COLOURS[reason] });
      rect.append(node("title", {}, `${day.day}: ${count} ${reason.replaceAll("_", " ")}`));
      svg.append(rect);
    }
    if (day.containment_rate !== null) {
      points.push([x + bar / 2, top + plotH * (1 - day.containment_rate)]);
    }
    if (days.length <= 31 || i % 7 === 0) {
      svg.append(node("text", { x: x + bar / 2, y: height - 10, "text-anchor": "middle" }, day.day.slice(5)));
    }
  });
  if (points.length) {
    svg.append(node("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none",
                                  stroke: "#1e9e5a", "stroke-width": 2 }));
    for (const [x, y] of points) {
      svg.append(node("circle", { cx: x, cy: y, r: 5, fill: "#1e9e5a", stroke: "#fff", "stroke-width": 2 }));
    }
  }
  $("chart").replaceChildren(svg);
  $("legend").replaceChildren(...[...REASONS, "containment"].map((name) => {
    const item = document.createElement("span");
    const swatch = document.createElement("span"); swatch.className = `swatch swatch-${name}`;
    item.append(swatch, name.replaceAll("_", " "));
    return item;
  }));
}

function showGaps(gaps) {
  $("no-gaps").hidden = gaps.length > 0;
  $("gaps").replaceChildren(...gaps.map((gap) => {
    const row = document.createElement("tr"); row.dataset.testid = "gap";
    const drafts = gap.drafts.map((d) => d.status).join(", ") || "none yet";
    const cells = [gap.question, String(gap.count), new Date(gap.last_asked).toLocaleString(), gap.examples.join(" · "), drafts];
    cells.forEach((text, i) => {
      const cell = document.createElement("td"); cell.textContent = text;
      if (i === 1) cell.className = "count";
      row.append(cell);
    });
    return row;
  }));
}

// Review: reword a draft, then publish it into the default knowledge base.
function showDrafts(drafts) {
  $("no-drafts").hidden = drafts.length > 0;
  $("drafts").replaceChildren(...drafts.map((draft) => {
    const item = document.createElement("li"); item.dataset.testid = "draft";
    const question = document.createElement("textarea"); question.rows = 1; question.value = draft.question;
    question.setAttribute("aria-label", "Question");
    const answer = document.createElement("textarea"); answer.rows = 3; answer.value = draft.answer;
    answer.setAttribute("aria-label", "Answer");
    const by = document.createElement("span"); by.className = "muted";
    by.textContent = `from ${draft.created_by}${draft.ticket_id ? ` · ${draft.ticket_id}` : ""}`;
    item.append(question, answer, by);
    if (draft.status === "published") {
      const done = document.createElement("span"); done.className = "published";
      done.textContent = `Published as ${draft.doc_name}`;
      question.disabled = answer.disabled = true;
      item.append(done);
    } else {
      const publish = document.createElement("button"); publish.textContent = "Save and publish";
      publish.dataset.testid = "publish";
      publish.addEventListener("click", async () => {
        try {
          const path = `${DRAFTS}/${encodeURIComponent(draft.draft_id)}`;
          await call(path, "PATCH", { question: question.value.trim(), answer: answer.value.trim() });
          await call(`${path}/publish`, "POST");
          await load();
        } catch (err) {
          $("problem").textContent = `Could not publish: ${err.message}`;
        }
      });
      item.append(publish);
    }
    return item;
  }));
}

async function load() {
  $("problem").textContent = "";
  const until = new Date();
  const since = new Date(until.getTime() - (Number($("days").value) - 1) * 86400000);
  const period = `since=${since.toISOString().slice(0, 10)}&until=${until.toISOString().slice(0, 10)}`;
  try {
    const [summary, gaps, drafts] = await Promise.all([
      get(`/api/v1/analytics/summary?${period}`), get(`/api/v1/analytics/knowledge-gaps?${period}`),
      get(DRAFTS),
    ]);
    showFigures(summary); showChart(summary.by_day); showGaps(gaps.gaps); showDrafts(drafts.drafts);
  } catch (err) {
    $("problem").textContent = `Could not load the figures: ${err.message}`;
  }
}

$("load").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("frontdesk.admin", keyInput.value);
  load();
});
if (keyInput.value) load();
