// pulsetrace live: the heatmap page (web/heatmap*.js) fed by the ticks of a running program, plus
// the stacks. One EventSource per page; every message is one tick of the server (see
// live/documents.py) holding what changed since the page's last tick, taken into a LiveDocument.
// The index is the heatmap's index (its files appear as they first run; a recent hits column
// added); a file's page is the heatmap's file page with heartrate's recency bars and the executing
// expressions added to its rows.

import { HeatmapApp } from "./heatmap.js";
import { escapeHtml, fileHref, formatCount, parseHash } from "./heatmap_common.js";
import { LiveDocument } from "./live_data.js";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const fileMatch = location.pathname.match(/^\/file\/(f\d+)$/);
const fileId = fileMatch ? fileMatch[1] : null;

const $ = (selector) => document.querySelector(selector);
const view = $("#main");
const statusBadge = $("#status");
const picker = $("#thread-picker");

// Every URL the page asks for or links to carries the token when the server needs one.
function withToken(url) {
  if (!token) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
}
function fileLink(id, path, line) {
  const base = withToken("/file/" + id);
  return path ? base + fileHref(path, line) : base;
}

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

// -- the heatmap page, fed by the ticks ------------------------------------------------------------

const data = new LiveDocument(); // the whole heatmap document, kept from the ticks' changes
let heatmap = null; // the HeatmapApp of this page, made at the first tick it can show
let sourcePath = null; // the file page's file, once its text came
const sourceAsked = new Set(); // files whose text was asked for (each is read once)
let markedLines = new Set();
let markKey = "";
let barLines = new Set();

// Where the heatmap's links to a file go: that file's live page (the index's links carry no line,
// so the page opens at its top), else the heatmap's own address.
function liveFileHref(path, line) {
  const id = data.idOf(path);
  return id ? fileLink(id, line ? path : null, line) : fileHref(path, line);
}

async function readSource(id) {
  const response = await fetch(withToken("/api/source/" + id));
  if (!response.ok) return null;
  const source = await response.json();
  data.addSource(source.path, source.lines, source.runs, source.classes);
  return source;
}

// The index's hottest lines show their code: the text of their files is read once each.
function sourceWanted(file) {
  if (sourceAsked.has(file.path) || !file.id) return;
  sourceAsked.add(file.path);
  readSource(file.id).then((source) => { if (source && !paused) showHeatmap(null); });
}

async function loadSource() {
  const source = await readSource(fileId);
  if (!source) {
    view.innerHTML = '<p class="note">This file cannot be shown.</p>';
    return;
  }
  sourcePath = source.path;
  $("#where").textContent = source.path;
  // The heatmap page routes by the address's hash: open this file there, at the line asked for.
  const route = parseHash(location.hash);
  if (route.file !== source.path) history.replaceState(null, "", fileHref(source.path, earlierLine() || route.line));
  window.addEventListener("hashchange", () => {
    const line = earlierLine();
    if (line) {
      history.replaceState(null, "", fileHref(sourcePath, line));
      heatmap?.render();
    } else if (parseHash(location.hash).file !== sourcePath) {
      location.assign(withToken("/")); // "All files" (or another file): the live index
      return;
    }
    if (latest) decorate(latest, null);
  });
  if (latest) render(latest);
}

// A line asked for as the live page's earlier links did (#L12), 0 for none.
function earlierLine() {
  const earlier = location.hash.match(/^#L(\d+)$/);
  return earlier ? Number(earlier[1]) : 0;
}

// The index page asked to show a file (#file=...): that is the file's own live page.
function openFileOfHash() {
  const route = parseHash(location.hash);
  const id = route.file === null ? null : data.idOf(route.file);
  if (id) location.assign(fileLink(id, route.file, route.line));
}

// Show the data held: make the heatmap page at first, then hand it each newer document.
function showHeatmap(tick) {
  if (fileId && (!sourcePath || !data.has(sourcePath))) return; // the file page waits for its file's text
  let redrawn = null;
  if (!heatmap) {
    if (!fileId) openFileOfHash(); // an address of the index with a file in its hash
    $("#bar").hidden = false;
    const options = fileId ? { fileHref: liveFileHref } : {
      fileHref: liveFileHref,
      fileColumns: [{ key: "recent", title: "Recent hits", format: formatCount }],
      onMissingSource: sourceWanted,
    };
    heatmap = new HeatmapApp($("#bar"), view, data.document(), options);
  } else {
    redrawn = heatmap.refresh(data.document());
  }
  if (fileId && tick) decorate(tick, redrawn);
}

// What the live page adds to the heatmap's rows: heartrate's recency bars and the executing
// expressions. Rows the heatmap drew again (redrawn: their line numbers; null: all) get them anew.
function decorate(tick, redrawn) {
  if (!heatmap || !heatmap.fileView) return;
  const lines = tick.recency || {}; // line -> [hits in the last 2 s, ms since the last hit]
  let mostRecent = 1;
  for (const numbers of Object.values(lines)) mostRecent = Math.max(mostRecent, numbers[0]);
  const withBars = new Set();
  for (const [key, numbers] of Object.entries(lines)) {
    const lineno = Number(key);
    const [recent, ageMs] = numbers;
    // heartrate's bars: longer for more recent hits, lighter the longer ago the last hit was
    const fresh = ageMs >= 0 && ageMs < 10000;
    const width = fresh && recent > 0 ? 8 + 92 * (Math.log1p(recent) / Math.log1p(mostRecent)) : fresh ? 4 : 0;
    if (width === 0 && !barLines.has(lineno)) continue;
    const bar = barOf(lineno);
    if (!bar) continue;
    withBars.add(lineno);
    bar.style.width = width.toFixed(1) + "%";
    bar.style.opacity = fresh ? Math.max(0.15, 1 - ageMs / 10000).toFixed(2) : "0";
    bar.title = `${formatCount(recent)} hits in the last 2 s, last hit ${(ageMs / 1000).toFixed(1)} s ago`;
  }
  for (const lineno of barLines) {
    if (!withBars.has(lineno)) {
      const bar = barOf(lineno);
      if (bar) bar.style.width = "0";
    }
  }
  barLines = withBars;
  markExecuting(tick.stacks || [], redrawn);
}

// The recency bar of a drawn row (made on first use), null for a row not drawn yet.
function barOf(lineno) {
  const row = document.getElementById("L" + lineno);
  const cell = row && row.querySelector(".links");
  if (!cell) return null;
  let bar = cell.querySelector(".bar");
  if (!bar) {
    bar = document.createElement("span");
    bar.className = "bar";
    cell.prepend(bar);
  }
  return bar;
}

// The expression each frame in this file is executing, from every thread's stack.
function markExecuting(stacks, redrawn) {
  const spans = [];
  for (const stack of stacks) for (const frame of stack.frames) if (frame.id === fileId && frame.expr) spans.push(frame.expr);
  const key = JSON.stringify(spans);
  const stale = redrawn === null || redrawn.some((lineno) => markedLines.has(lineno));
  if (key === markKey && !stale) return;
  markKey = key;
  const html = heatmap.highlighted(heatmap.fileView.file);
  for (const lineno of markedLines) {
    const code = document.querySelector(`#L${lineno} .src`);
    if (code && code.querySelector("mark.exec")) code.innerHTML = html[lineno - 1] || " ";
  }
  markedLines = new Set();
  for (const [startLine, startCol, endLine, endCol] of spans) {
    for (let lineno = startLine; lineno <= endLine; lineno++) {
      const code = document.querySelector(`#L${lineno} .src`);
      if (!code) continue;
      const from = lineno === startLine ? startCol : 0;
      const to = lineno === endLine ? endCol : Infinity;
      markRange(code, from, to);
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
      const place = f.id ? `<a href="${fileLink(f.id, f.file, f.line)}">${where}</a>` : where;
      return `<li class="${f.id ? "traced" : "untraced"}"><span class="fn">${escapeHtml(f.function)}</span> ${place}</li>`;
    })
    .join("");
}

// -- receiving ticks ----------------------------------------------------------------------------------

function render(tick) {
  finished = tick.status === "finished";
  showHeatmap(tick);
  renderStacks(tick.stacks || []);
  const lag = Date.now() - tick.wall_ms;
  $("#latency").textContent = finished ? "" : `updated ${Math.max(0, Math.round(lag))} ms after reading`;
  document.body.dataset.seq = tick.seq;
}

let disconnected = false;
const events = new EventSource(withToken("/events" + (fileId ? "?file=" + fileId : "")));
events.onmessage = (message) => {
  const tick = JSON.parse(message.data);
  data.apply(tick.heatmap, tick.full); // taken in even while paused: each tick holds only what changed
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
else {
  openFileOfHash();
  window.addEventListener("hashchange", openFileOfHash);
}
