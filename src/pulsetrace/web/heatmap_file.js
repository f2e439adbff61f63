// One file of the heatmap: its source with every line coloured by the chosen metric, the numbers
// beside each line, callers / callees popovers, a minimap of the whole file and permalinks per line.

import {
  METRICS, escapeHtml, fileHref, formatCount, formatDuration, formatPercent, groupBadge, heatColour, heatOf,
  heatRgb, needsLightText,
} from "./heatmap_common.js";

const CHUNK = 256; // rows per block; off-screen blocks are skipped by layout (content-visibility)
const ROW_HEIGHT = 18; // px, as in the CSS: lets the browser size skipped blocks exactly

function calleeLabel(app, callee) {
  if (!callee.file) return "C function";
  const file = callee.fileId >= 0 ? app.data.files[callee.fileId].label : callee.file;
  return `${file}:${callee.lineno}`;
}

// The highest value of each metric in this file, or in all files (the page's scale setting).
function maxima(app, file) {
  const found = {};
  for (const [name, metric] of Object.entries(METRICS)) {
    if (app.scale === "all") {
      found[name] = app.globalMax[name];
    } else {
      let max = 0;
      for (const row of file.lines) max = Math.max(max, row[metric.column]);
      found[name] = max;
    }
  }
  return found;
}

// The number columns as wide as their widest text (a hit count of millions, a time in thousands of
// seconds, a long file's line numbers), in characters of the code's font: set on the table as CSS
// variables its grid reads (heatmap.css). Only the largest value of each column is formatted: a
// count's text grows with its value; a time's is at most 7 characters below 1,000 s.
function fitColumns(code, rows, lineCount) {
  let hits = 0;
  let self = 0;
  let total = 0;
  for (const row of rows) {
    if (row[1] > hits) hits = row[1];
    if (row[2] > self) self = row[2];
    if (row[3] > total) total = row[3];
  }
  const durationWidth = (max) => Math.max(formatDuration(max).length, max >= 999.5 ? 7 : 0);
  const widths = {
    "--ln-ch": String(lineCount).length,
    "--hits-ch": formatCount(hits).length,
    "--self-ch": durationWidth(self),
    "--total-ch": durationWidth(total),
  };
  for (const [name, width] of Object.entries(widths)) {
    if (code.style.getPropertyValue(name) !== String(width)) code.style.setProperty(name, String(width));
  }
}

// The source table, drawn in blocks of CHUNK rows. Every block gets its exact height at once (rows
// are ROW_HEIGHT px), so the page has its full length and the minimap and scrolling are right;
// the blocks near what is shown are filled first, the rest soon after in short slices of work, so a
// file of tens of thousands of lines opens as fast as a short one and is complete (for the
// browser's find) a moment later. Every row that ran carries its colour for each metric, so
// switching metrics only swaps a class.
class SourceTable {
  constructor(app, file, rowsByLine, lineCount, max) {
    this.app = app;
    this.file = file;
    this.rowsByLine = rowsByLine;
    this.lineCount = lineCount;
    this.max = max;
    this.callees = app.calleesByLine.get(file.path) || new Map();
    this.callers = app.callersByLine.get(file.path) || new Map();
    this.code = file.code ? app.highlighted(file) : [];
    this.chunks = Math.ceil(lineCount / CHUNK);
    this.filled = new Uint8Array(this.chunks);
    this.root = null;
  }

  skeleton() {
    const html = [];
    for (let c = 0; c < this.chunks; c++) {
      const rows = Math.min(CHUNK, this.lineCount - c * CHUNK);
      html.push(`<div class="chunk" data-chunk="${c}" style="height:${rows * ROW_HEIGHT}px"></div>`);
    }
    return html.join("");
  }

  attach(root, target) {
    this.root = root;
    this.blocks = root.querySelectorAll(".chunk");
    const first = target ? Math.floor((target - 1) / CHUNK) : 0;
    for (let c = Math.max(0, first - 1); c <= Math.min(this.chunks - 1, first + 1); c++) this.fill(c);
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) if (entry.isIntersecting) this.fill(Number(entry.target.dataset.chunk));
    }, { rootMargin: "1500px 0px" });
    this.blocks.forEach((block, c) => { if (!this.filled[c]) this.observer.observe(block); });
    let next = 0;
    const work = () => {
      if (!root.isConnected) return this.observer.disconnect();
      const until = performance.now() + 12;
      while (next < this.chunks && performance.now() < until) this.fill(next++);
      if (next < this.chunks) setTimeout(work, 0);
      else this.observer.disconnect();
    };
    setTimeout(work, 0);
  }

  fill(c) {
    if (this.filled[c]) return;
    this.filled[c] = 1;
    this.observer?.unobserve(this.blocks[c]);
    const start = c * CHUNK + 1;
    const end = Math.min(this.lineCount, start + CHUNK - 1);
    const html = [];
    for (let lineno = start; lineno <= end; lineno++) html.push(this.rowHtml(lineno));
    this.blocks[c].innerHTML = html.join("");
  }

  rowHtml(lineno) {
    const row = this.rowsByLine.get(lineno);
    let attributes = "";
    let classes = "row";
    if (row) {
      const vars = [];
      for (const [name, metric] of Object.entries(METRICS)) {
        const heat = heatOf(row[metric.column], this.max[name]);
        vars.push(`--h-${name}:${heatColour(heat)}`);
        if (needsLightText(heat)) classes += ` hot-${name}`;
      }
      attributes = ` style="${vars.join(";")}"`;
      classes += " run";
    }
    let buttons = "";
    const out = this.callees.get(lineno);
    if (out) {
      buttons += `<button class="callees" data-line="${lineno}" title="Functions called from this line">` +
        `→ ${out.length}</button>`;
    }
    const into = this.callers.get(lineno);
    if (into) {
      buttons += `<button class="callers" data-line="${lineno}" title="Lines that called this function">` +
        `← ${into.length}</button>`;
    }
    return `<div class="${classes}" id="L${lineno}"${attributes}>` +
      `<a class="ln" href="${fileHref(this.file.path, lineno)}">${lineno}</a>` +
      `<span class="num hits">${row ? formatCount(row[1]) : ""}</span>` +
      `<span class="num self">${row && row[2] ? formatDuration(row[2]) : ""}</span>` +
      `<span class="num total">${row && row[3] ? formatDuration(row[3]) : ""}</span>` +
      `<span class="links">${buttons}</span><span class="src">${this.code[lineno - 1] || " "}</span></div>`;
  }
}

export function renderFile(container, app, file, target) {
  const metric = app.metric;
  const rowsByLine = new Map(file.lines.map((row) => [row[0], row]));
  const lastRun = file.lines.length ? file.lines[file.lines.length - 1][0] : 0;
  const lineCount = Math.max(file.code ? file.code.length : 0, lastRun);
  const max = maxima(app, file);
  const table = new SourceTable(app, file, rowsByLine, lineCount, max);
  const sourceNote = file.source === "disk"
    ? '<p class="note source-note">The trace did not store this file\'s text: it was read from disk when the ' +
      "report was made and may have changed since the run.</p>"
    : file.source === "" ? '<p class="note source-note">The source of this file is not available.</p>' : "";
  const totals = app.data.totals;
  const functions = file.functions.map((f) => `<option value="${f.lineno}">${escapeHtml(f.name)} ` +
    `(line ${f.lineno})</option>`).join("");
  container.innerHTML =
    `<nav class="crumbs"><a href="#" class="back">All files</a> › ${groupBadge(file.group)} ` +
    `<span class="path" title="${escapeHtml(file.path)}">${escapeHtml(file.label)}</span></nav>` +
    `<p class="summary file-stats"><span class="stats">${fileStats(file, totals)}</span>` +
    (functions ? ` <select class="jump" aria-label="Jump to a function"><option value="">Jump to a function…` +
      `</option>${functions}</select>` : "") +
    ' <span class="muted keys">Keys <kbd>n</kbd> / <kbd>p</kbd>: next / previous hot line.</span></p>' +
    sourceNote +
    `<div class="code-wrap"><div class="code metric-${metric}" aria-label="${escapeHtml(file.label)}">` +
    `<div class="row head"><span class="ln">line</span><span class="num hits">hits</span>` +
    `<span class="num self">self</span><span class="num total">total</span><span class="links"></span>` +
    `<span class="src"></span></div>${table.skeleton()}</div></div>` +
    '<canvas class="minimap" aria-label="Minimap of the file: click to scroll there"></canvas>';

  const jump = container.querySelector("select.jump");
  if (jump) {
    jump.addEventListener("change", () => {
      if (jump.value) location.hash = fileHref(file.path, parseInt(jump.value, 10));
    });
  }
  container.querySelector(".code").addEventListener("click", (event) => {
    const button = event.target.closest("button.callees, button.callers");
    if (!button) return;
    event.stopPropagation();
    const lineno = parseInt(button.dataset.line, 10);
    openPopover(app, file, lineno, button.classList.contains("callees") ? "callees" : "callers", button);
  });
  fitColumns(container.querySelector(".code"), file.lines, lineCount);
  table.attach(container.querySelector(".code"), target);
  app.minimap = new Minimap(container.querySelector("canvas.minimap"), rowsByLine, lineCount, max, metric);
  app.fileView = { file, max, table, target: 0 };
  if (target) markTarget(app.fileView, target);
  else window.scrollTo(0, 0);
  app.minimap.draw();
}

function fileStats(file, totals) {
  return `${formatCount(file.linesRun)} lines run, ${formatCount(file.hits)} hits, ` +
    `${formatDuration(file.selfNs)} self time (${formatPercent(file.selfNs, totals.selfNs)} of all). ` +
    (file.hottestLine ? `Hottest line: <a class="hottest" href="${fileHref(file.path, file.hottestLine)}">` +
      `${file.hottestLine}</a>.` : "");
}

const sameRow = (a, b) => a === b || (a && b && a[1] === b[1] && a[2] === b[2] && a[3] === b[3]);

// The shown file's newer numbers (the live view's next snapshot, after app.setData): the rows whose
// numbers or call links changed are drawn again in place, all drawn rows when the heat scale moved.
// Nothing else is rebuilt, so the scroll position, an open popover and a marked line stay. Returns
// the line numbers whose rows were drawn again.
export function updateFile(app, file) {
  const view = app.fileView;
  const table = view.table;
  const max = maxima(app, file);
  const rescaled = Object.keys(max).some((name) => max[name] !== view.max[name]);
  const rowsByLine = new Map(file.lines.map((row) => [row[0], row]));
  const before = { rows: table.rowsByLine, callees: table.callees, callers: table.callers };
  table.file = file;
  table.rowsByLine = rowsByLine;
  table.max = max;
  table.callees = app.calleesByLine.get(file.path) || new Map();
  table.callers = app.callersByLine.get(file.path) || new Map();
  const links = (index, lineno) => (index.get(lineno) || []).length;
  const candidates = new Set([...before.rows.keys(), ...rowsByLine.keys(), ...before.callees.keys(),
    ...table.callees.keys(), ...before.callers.keys(), ...table.callers.keys()]);
  const redrawn = [];
  let changed = false;
  const template = document.createElement("template");
  for (const lineno of candidates) {
    if (!rescaled && sameRow(before.rows.get(lineno), rowsByLine.get(lineno)) &&
        links(before.callees, lineno) === links(table.callees, lineno) &&
        links(before.callers, lineno) === links(table.callers, lineno)) continue;
    changed = true;
    if (lineno < 1 || lineno > table.lineCount || !table.filled[Math.floor((lineno - 1) / CHUNK)]) continue;
    const row = table.root.querySelector(`#L${lineno}`);
    if (!row) continue;
    template.innerHTML = table.rowHtml(lineno);
    const fresh = template.content.firstElementChild;
    if (view.target === lineno) fresh.classList.add("target");
    row.replaceWith(fresh);
    redrawn.push(lineno);
  }
  view.file = file;
  view.max = max;
  fitColumns(table.root, file.lines, table.lineCount);
  const stats = table.root.parentElement.parentElement.querySelector(".file-stats .stats");
  if (stats) stats.innerHTML = fileStats(file, app.data.totals);
  if (app.minimap) {
    app.minimap.rowsByLine = rowsByLine;
    app.minimap.max = max;
    if (changed) app.minimap.setMetric(app.metric); // its stripes: drawn again
  }
  return redrawn;
}

function markTarget(view, lineno) {
  view.table.fill(Math.floor((lineno - 1) / CHUNK));
  document.getElementById(`L${view.target}`)?.classList.remove("target");
  const row = document.getElementById(`L${lineno}`);
  if (!row) return;
  row.classList.add("target");
  row.scrollIntoView({ block: "center" });
  view.target = lineno;
}

// Keys n / p: the next / previous hot line of the shown file (at least half-way up the heat scale
// by the chosen metric), after or before the marked one, wrapping around. The address follows
// without adding to the history, so back still leaves the file.
export function stepHotLine(app, direction) {
  const view = app.fileView;
  if (!view || !view.table.root?.isConnected) return;
  const column = METRICS[app.metric].column;
  const max = view.max[app.metric];
  const hot = view.file.lines.filter((row) => heatOf(row[column], max) >= 0.5).map((row) => row[0]);
  if (!hot.length) return;
  let next = direction > 0
    ? hot.find((line) => line > view.target)
    : hot.findLast((line) => line < view.target);
  if (next === undefined) next = direction > 0 ? hot[0] : hot[hot.length - 1];
  markTarget(view, next);
  history.replaceState(null, "", fileHref(view.file.path, next));
}

// Colour the shown file by another metric: a class on the table and the minimap, nothing rebuilt.
export function showMetric(container, app, metric) {
  const code = container.querySelector(".code");
  if (!code) return;
  code.classList.remove(...Object.keys(METRICS).map((name) => `metric-${name}`));
  code.classList.add(`metric-${metric}`);
  app.minimap?.setMetric(metric);
}

function openPopover(app, file, lineno, kind, anchor) {
  closePopover();
  const items = [];
  const viewer = kind === "callees" ? timelineLink() : null;
  const edges = kind === "callees" ? app.calleesByLine.get(file.path).get(lineno) : [];
  if (kind === "callees") {
    edges.forEach((edge, index) => {
      const callee = app.data.callees[edge.callee];
      const label = escapeHtml(calleeLabel(app, callee));
      const where = callee.fileId >= 0
        ? `<a href="${fileHref(app.data.files[callee.fileId].path, callee.lineno)}">${label}</a>`
        : `<span class="muted">${label}${callee.summarised ? " (summarised)" : ""}</span>`;
      const show = viewer && viewer.timelineHas(callee)
        ? `<td><button type="button" class="show-in-timeline" data-edge="${index}">Show in timeline</button></td>` : "";
      items.push(`<tr><td class="text"><b>${escapeHtml(callee.name)}</b> ${where}</td>` +
        `<td class="num">${formatCount(edge.count)}×</td><td class="num">${formatDuration(edge.totalNs)}</td>${show}</tr>`);
    });
  } else {
    for (const edge of app.callersByLine.get(file.path).get(lineno)) {
      const caller = edge.fileId >= 0 ? app.data.files[edge.fileId] : null;
      const label = escapeHtml(`${caller ? caller.label : edge.file}:${edge.line}`);
      const where = caller ? `<a href="${fileHref(caller.path, edge.line)}">${label}</a>` : `<span class="muted">${label}</span>`;
      items.push(`<tr><td class="text">${where}</td><td class="num">${formatCount(edge.count)}×</td>` +
        `<td class="num">${formatDuration(edge.totalNs)}</td></tr>`);
    }
  }
  const popover = document.createElement("div");
  popover.className = `popover ${kind}`;
  popover.setAttribute("role", "dialog");
  // Functions defined on one line (a lambda beside its def) are named together.
  const defined = file.functions.filter((f) => f.lineno === lineno).map((f) => f.name).join(", ");
  const title = kind === "callees" ? `Calls made by line ${lineno}`
    : `Callers of ${defined || "the function"} (line ${lineno})`;
  popover.innerHTML = `<div class="popover-title">${escapeHtml(title)}</div><table>${items.join("")}</table>`;
  document.body.appendChild(popover);
  const box = anchor.getBoundingClientRect();
  const left = Math.min(box.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - popover.offsetWidth - 8);
  popover.style.left = `${Math.max(window.scrollX + 4, left)}px`;
  popover.style.top = `${box.bottom + window.scrollY + 4}px`;
  // The popover goes when a link in it is followed, on Escape, or on a click anywhere else.
  popover.addEventListener("click", (event) => {
    const show = event.target.closest("button.show-in-timeline");
    if (show) {
      closePopover();
      viewer.showCallsInTimeline(app.data.callees[edges[Number(show.dataset.edge)].callee]);
    } else if (event.target.closest("a")) {
      closePopover();
    }
  });
}

// The trace viewer this page is shown in (its Heatmap tab), which can highlight a function's calls
// in its timeline; null when the heatmap is a page of its own (.heatmap.html, the live view).
function timelineLink() {
  try {
    const viewer = window.parent !== window ? window.parent.pulsetraceViewer : null;
    return viewer && typeof viewer.showCallsInTimeline === "function" ? viewer : null;
  } catch (error) {
    return null; // a parent of another origin
  }
}

export function closePopover() {
  document.querySelectorAll(".popover").forEach((node) => node.remove());
}

// A strip down the right edge: one stripe per line coloured like its row, the visible part framed;
// clicking or dragging scrolls the page there.
class Minimap {
  constructor(canvas, rowsByLine, lineCount, max, metric) {
    this.canvas = canvas;
    this.rowsByLine = rowsByLine;
    this.lineCount = Math.max(1, lineCount);
    this.max = max;
    this.code = canvas.parentElement.querySelector(".code");
    this.setMetric(metric);
    const scrollTo = (event) => {
      const box = canvas.getBoundingClientRect();
      const share = Math.max(0, Math.min(1, (event.clientY - box.top) / box.height));
      const codeTop = this.code.getBoundingClientRect().top + window.scrollY;
      const target = codeTop + share * this.code.offsetHeight - window.innerHeight / 2;
      window.scrollTo(0, Math.max(0, target));
    };
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      scrollTo(event);
      const move = (e) => scrollTo(e);
      canvas.addEventListener("pointermove", move);
      canvas.addEventListener("pointerup", () => canvas.removeEventListener("pointermove", move), { once: true });
    });
  }

  setMetric(metric) {
    this.heats = new Float32Array(this.lineCount + 1).fill(-1);
    const column = METRICS[metric].column;
    for (const [lineno, row] of this.rowsByLine) {
      if (lineno <= this.lineCount) this.heats[lineno] = heatOf(row[column], this.max[metric]);
    }
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    if (!canvas.isConnected) return;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.fillStyle = getComputedStyle(canvas).backgroundColor;
    ctx.fillRect(0, 0, width, height);
    const perLine = height / this.lineCount;
    // Several lines can share a pixel row: the hottest of them is drawn, so no hot line vanishes.
    for (let y = 0; y < height; y++) {
      const first = Math.floor(y / perLine) + 1;
      const last = Math.min(this.lineCount, Math.max(first, Math.floor((y + 1) / perLine)));
      let heat = -1;
      for (let lineno = first; lineno <= last; lineno++) heat = Math.max(heat, this.heats[lineno]);
      if (heat < 0) continue;
      const [r, g, b] = heatRgb(heat);
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(0, y, width, 1);
    }
    const box = this.code.getBoundingClientRect();
    if (box.height > 0) {
      const top = Math.max(0, -box.top / box.height) * height;
      const bottom = Math.min(1, (window.innerHeight - box.top) / box.height) * height;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.55)";
      ctx.lineWidth = 1.5;
      ctx.strokeRect(1, top + 1, width - 2, Math.max(4, bottom - top - 2));
    }
  }
}
