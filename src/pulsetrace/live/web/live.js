// pulsetrace live: the index of traced files, a file page with live line numbers, and the stacks.
// One EventSource per page; every message is one tick of the server (see live/state.py).
// Source lines are highlighted by the heatmap's own highlighter.

import { lineHtml } from "./heatmap_highlight.js";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const fileMatch = location.pathname.match(/^\/file\/(f\d+)$/);
const fileId = fileMatch ? fileMatch[1] : null;

const $ = (selector) => document.querySelector(selector);
const view = $("#view");
const statusBadge = $("#status");
const picker = $("#thread-picker");

// Every URL the page asks for or links to carries the token when the server needs one.
function withToken(url) {
  if (!token) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
}
function fileLink(id, line) {
  const base = withToken("/file/" + id);
  return line ? base + "#L" + line : base;
}

function formatNs(ns) {
  if (ns >= 1e9) return (ns / 1e9).toFixed(2) + " s";
  if (ns >= 1e6) return (ns / 1e6).toFixed(1) + " ms";
  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + " µs";
  return ns + " ns";
}
const formatCount = (n) => n.toLocaleString("en-US");

let paused = false;
let latest = null; // the last tick received, shown on resume when paused
let finished = false;
let chosenThread = null; // the ident the user picked; null follows the main thread

$("#home").href = withToken("/");

$("#pause").addEventListener("click", () => {
  paused = !paused;
  $("#pause").textContent = paused ? "Resume" : "Pause";
  if (!paused && latest) render(latest);
  showStatus();
});

$("#reset").addEventListener("click", () => {
  fetch(withToken("/api/reset"), { method: "POST", headers: { "X-Pulsetrace": "1" } });
});

picker.addEventListener("change", () => {
  chosenThread = picker.value;
  if (latest) renderStacks(latest.stacks);
});

function showStatus() {
  let status = latest ? latest.status : "connecting";
  if (status === "running" && paused) status = "paused";
  if (disconnected && !finished) status = "disconnected";
  statusBadge.dataset.status = status;
  statusBadge.textContent = status;
}

// -- the index page ---------------------------------------------------------------------------------

function renderIndex(tick) {
  let table = $("table.files");
  if (!table) {
    view.innerHTML =
      '<h1>Traced files</h1><p class="note" id="totals"></p>' +
      '<table class="files"><thead><tr><th>file</th><th class="num">line hits</th>' +
      '<th class="num">lines run</th><th class="num">time</th><th class="num">recent hits</th>' +
      "<th>heat</th></tr></thead><tbody></tbody></table>";
    table = $("table.files");
  }
  const hottest = Math.max(1, ...tick.files.map((f) => f.self_ns));
  const rows = tick.files.map((f) => {
    const width = Math.round((f.self_ns / hottest) * 100);
    return (
      `<tr data-file="${f.id}"><td><a href="${fileLink(f.id)}" title="${escapeHtml(f.path)}">` +
      `${escapeHtml(f.name)}</a> <span class="note">${escapeHtml(f.path)}</span></td>` +
      `<td class="num hits">${formatCount(f.hits)}</td><td class="num">${formatCount(f.lines_hit)}</td>` +
      `<td class="num">${formatNs(f.self_ns)}</td><td class="num recent">${formatCount(f.recent)}</td>` +
      `<td><span class="heat" style="width:${width}%"></span></td></tr>`
    );
  });
  table.tBodies[0].innerHTML = rows.join("") ||
    '<tr><td colspan="6" class="note">No line of a traced file has run yet.</td></tr>';
  const total = tick.files.reduce((sum, f) => sum + f.hits, 0);
  $("#totals").textContent = `${tick.files.length} files, ${formatCount(total)} line hits`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// -- the file page ----------------------------------------------------------------------------------

let sourceRows = null; // line number -> {row, hits, time, bar, code, html}
let markedLines = new Set();
let markKey = "";

async function loadSource() {
  const response = await fetch(withToken("/api/source/" + fileId));
  if (!response.ok) {
    view.innerHTML = '<p class="note">This file cannot be shown.</p>';
    return;
  }
  const source = await response.json();
  $("#where").textContent = source.path;
  document.title = source.path.split("/").pop() + " — pulsetrace live";
  const highlighted = source.lines.map((text, i) => lineHtml(text, source.runs[i], source.classes));
  const body = highlighted
    .map(
      (html, i) =>
        `<tr id="L${i + 1}" data-line="${i + 1}"><td class="no">${i + 1}</td><td class="num hits"></td>` +
        `<td class="num time"></td><td class="recency"><span class="bar"></span></td>` +
        `<td class="code">${html}</td></tr>`
    )
    .join("");
  view.innerHTML =
    '<table class="source"><thead><tr><th class="num">line</th><th class="num">hits</th>' +
    '<th class="num">time</th><th>recent</th><th></th></tr></thead><tbody>' + body + "</tbody></table>";
  sourceRows = new Map();
  highlighted.forEach((html, i) => {
    const row = document.getElementById("L" + (i + 1));
    sourceRows.set(i + 1, {
      row,
      hits: row.children[1],
      time: row.children[2],
      bar: row.children[3].firstElementChild,
      code: row.children[4],
      html,
      shown: "",
    });
  });
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView({ block: "center" });
  if (latest) render(latest);
}

function renderFile(tick) {
  if (!sourceRows) return;
  const lines = tick.lines || {};
  let hottest = 1;
  let mostRecent = 1;
  for (const numbers of Object.values(lines)) {
    hottest = Math.max(hottest, numbers[1]);
    mostRecent = Math.max(mostRecent, numbers[3]);
  }
  for (const [lineno, entry] of sourceRows) {
    const numbers = lines[lineno];
    const key = numbers ? numbers.join(",") : "";
    if (key === entry.shown) continue;
    entry.shown = key;
    if (!numbers) {
      entry.row.classList.remove("hit");
      entry.hits.textContent = entry.time.textContent = "";
      entry.bar.style.width = "0";
      continue;
    }
    const [hits, selfNs, , recent, ageMs] = numbers;
    entry.row.classList.add("hit");
    entry.row.style.setProperty("--heat", (selfNs / hottest).toFixed(3));
    entry.hits.textContent = formatCount(hits);
    entry.time.textContent = formatNs(selfNs);
    // heartrate's bars: longer for more recent hits, lighter the longer ago the last hit was
    const fresh = ageMs >= 0 && ageMs < 10000;
    const width = fresh && recent > 0 ? 8 + 92 * (Math.log1p(recent) / Math.log1p(mostRecent)) : fresh ? 4 : 0;
    entry.bar.style.width = width.toFixed(1) + "%";
    entry.bar.style.opacity = fresh ? Math.max(0.15, 1 - ageMs / 10000).toFixed(2) : "0";
    entry.bar.title = `${formatCount(recent)} hits in the last 2 s, last hit ${(ageMs / 1000).toFixed(1)} s ago`;
  }
  markExecuting(tick.stacks || []);
}

// The expression each frame in this file is executing, from every thread's stack.
function markExecuting(stacks) {
  const spans = [];
  for (const stack of stacks) for (const frame of stack.frames) if (frame.id === fileId && frame.expr) spans.push(frame.expr);
  const key = JSON.stringify(spans);
  if (key === markKey) return;
  markKey = key;
  for (const lineno of markedLines) {
    const entry = sourceRows.get(lineno);
    if (entry) entry.code.innerHTML = entry.html;
  }
  markedLines = new Set();
  for (const [startLine, startCol, endLine, endCol] of spans) {
    for (let lineno = startLine; lineno <= endLine; lineno++) {
      const entry = sourceRows.get(lineno);
      if (!entry) continue;
      const from = lineno === startLine ? startCol : 0;
      const to = lineno === endLine ? endCol : Infinity;
      markRange(entry.code, from, to);
      markedLines.add(lineno);
    }
  }
}

// Wrap characters [from, to) of an element's text in <mark class="exec">, across its token spans.
function markRange(element, from, to) {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node);
  let position = 0;
  for (const node of texts) {
    const start = position;
    const end = position + node.data.length;
    position = end;
    if (node.parentElement && node.parentElement.closest("mark.exec")) continue;
    const a = Math.max(from, start);
    const b = Math.min(to, end);
    if (a >= b) continue;
    let middle = node;
    if (a > start) middle = middle.splitText(a - start);
    if (b < end) middle.splitText(b - a);
    const mark = document.createElement("mark");
    mark.className = "exec";
    middle.parentNode.insertBefore(mark, middle);
    mark.appendChild(middle);
  }
}

// -- the stack panel ----------------------------------------------------------------------------------

function renderStacks(stacks) {
  const note = $("#stack-note");
  const list = $("#stack");
  if (finished) {
    note.textContent = "The program has finished.";
    list.innerHTML = "";
    picker.disabled = true;
    return;
  }
  const options = stacks.map((s) => `${s.ident}\u0000${s.name}${s.main ? " (main)" : ""}`).join("\n");
  if (picker.dataset.options !== options) {
    picker.dataset.options = options;
    picker.innerHTML = stacks
      .map((s) => `<option value="${s.ident}">${escapeHtml(s.name)}${s.main ? " (main)" : ""}</option>`)
      .join("");
  }
  let stack = stacks.find((s) => String(s.ident) === chosenThread);
  if (!stack) stack = stacks.find((s) => s.main) || stacks[0];
  if (!stack) {
    list.innerHTML = "";
    note.textContent = "No thread to show.";
    return;
  }
  picker.value = String(stack.ident);
  note.textContent =
    `${stack.frames.length} frames, innermost last` + (stack.omitted ? ` (${stack.omitted} outer frames left out)` : "");
  list.innerHTML = stack.frames
    .map((f) => {
      const where = `${escapeHtml(f.file)}:${f.line}`;
      const place = f.id ? `<a href="${fileLink(f.id, f.line)}">${where}</a>` : where;
      return `<li class="${f.id ? "traced" : "untraced"}"><span class="fn">${escapeHtml(f.function)}</span> ${place}</li>`;
    })
    .join("");
}

// -- receiving ticks ----------------------------------------------------------------------------------

function render(tick) {
  finished = tick.status === "finished";
  if (fileId) renderFile(tick);
  else renderIndex(tick);
  renderStacks(tick.stacks || []);
  const lag = Date.now() - tick.wall_ms;
  $("#latency").textContent = finished ? "" : `updated ${Math.max(0, Math.round(lag))} ms after reading`;
  document.body.dataset.seq = tick.seq;
}

let disconnected = false;
const events = new EventSource(withToken("/events" + (fileId ? "?file=" + fileId : "")));
events.onmessage = (message) => {
  const tick = JSON.parse(message.data);
  latest = tick;
  if (tick.status === "finished") {
    events.close(); // the server may go away with the program: keep the final numbers on screen
    paused = false;
    $("#pause").disabled = true;
    $("#reset").disabled = true;
    render(tick);
  } else if (!paused) {
    render(tick);
  }
  showStatus();
};
events.onerror = () => {
  if (finished) return;
  disconnected = true;
  events.close();
  showStatus();
};

if (fileId) loadSource();
