// The heatmap's first page: every recorded file by group (project, standard library,
// site-packages, other) with its numbers, sortable and filterable, then the functions that were
// summarised instead of kept line by line.

import {
  METRICS, escapeHtml, formatCount, formatDuration, formatMetric, formatPercent, groupBadge, heatColour,
  heatOf,
} from "./heatmap_common.js";
import { lineHtml } from "./heatmap_highlight.js";
import { morphChildren } from "./heatmap_morph.js";

const TOP_LINES = 15;

// Columns of the file tables: key into a file entry, heading, how to show it.
const FILE_COLUMNS = [
  { key: "label", title: "File", text: true },
  { key: "module", title: "Module", text: true },
  { key: "linesRun", title: "Lines run", format: formatCount },
  { key: "hits", title: "Hits", format: formatCount },
  { key: "selfNs", title: "Self time", format: formatDuration },
  { key: "share", title: "% of all" },
  { key: "maxTotalNs", title: "Max line total", format: formatDuration },
  { key: "hottestLine", title: "Hottest line" },
];

const SUMMARY_COLUMNS = [
  { key: "name", title: "Function", text: true },
  { key: "file", title: "File", text: true },
  { key: "calls", title: "Calls", format: formatCount },
  { key: "hits", title: "Line hits", format: formatCount },
  { key: "selfNs", title: "Self time", format: formatDuration },
  { key: "totalNs", title: "Total time", format: formatDuration },
];

function sortValue(entry, key) {
  return key === "share" ? entry.selfNs : entry[key];
}

function sorted(entries, sort) {
  const { key, dir } = sort;
  return entries.slice().sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return order * dir || a.label?.localeCompare(b.label) || 0;
  });
}

function headings(columns, sort, table) {
  return columns.map((column) => {
    const active = column.key === sort.key;
    const arrow = active ? (sort.dir > 0 ? " ▲" : " ▼") : "";
    const state = active ? (sort.dir > 0 ? "ascending" : "descending") : "none";
    return `<th class="${column.text ? "text" : "num"}" aria-sort="${state}">` +
      `<button class="sort" data-table="${table}" data-key="${column.key}">${column.title}${arrow}</button></th>`;
  }).join("");
}

function matches(filter, ...texts) {
  return !filter || texts.some((text) => String(text).toLowerCase().includes(filter));
}

// A file's row; app.fileColumns are columns a page adds (the live view's recent hits).
function fileRow(app, file, totals, maxSelf) {
  const heat = heatOf(file.selfNs, maxSelf);
  const hottest = file.hottestLine
    ? `<a href="${app.fileHref(file.path, file.hottestLine)}">line ${file.hottestLine}</a>` : "–";
  const more = app.fileColumns.map((column) => `<td class="num ${column.key}">${column.format(file[column.key])}</td>`);
  return `<tr data-path="${escapeHtml(file.path)}">` +
    `<td class="text"><span class="swatch" style="background:${heatColour(heat)}"></span>` +
    `<a class="file-link" href="${app.fileHref(file.path)}" title="${escapeHtml(file.path)}">` +
    `${escapeHtml(file.label)}</a></td>` +
    `<td class="text module">${escapeHtml(file.module)}</td>` +
    `<td class="num">${formatCount(file.linesRun)}</td>` +
    `<td class="num">${formatCount(file.hits)}</td>` +
    `<td class="num">${formatDuration(file.selfNs)}</td>` +
    `<td class="num">${formatPercent(file.selfNs, totals.selfNs)}</td>` +
    `<td class="num">${formatDuration(file.maxTotalNs)}</td>` +
    `<td class="num">${hottest}</td>${more.join("")}</tr>`;
}

// The lines with the most of the chosen metric in all files: where to look first.
function hottestLines(app) {
  const column = METRICS[app.metric].column;
  const best = [];
  for (const file of app.data.files) {
    for (const row of file.lines) {
      if (row[column] <= 0) continue;
      if (best.length < TOP_LINES || row[column] > best[best.length - 1].row[column]) {
        best.push({ file, row });
        best.sort((a, b) => b.row[column] - a.row[column]);
        if (best.length > TOP_LINES) best.pop();
      }
    }
  }
  if (!best.length) return "";
  const max = best[0].row[column];
  const whole = app.metric === "hits" ? app.data.totals.hits : app.data.totals.selfNs;
  const rows = best.map(({ file, row }) => {
    if (!file.code) app.onMissingSource?.(file);
    const text = (file.code ? file.code[row[0] - 1] ?? "" : "").trimEnd();
    const indent = text.length - text.trimStart().length;
    const code = lineHtml(text, file.tokens ? file.tokens[row[0] - 1] : null, app.data.tokenClasses || [""], indent);
    const share = app.metric === "total" ? "" : formatPercent(row[column], whole);
    return `<tr><td class="text"><span class="swatch" style="background:${heatColour(heatOf(row[column], max))}">` +
      `</span><a href="${app.fileHref(file.path, row[0])}">${escapeHtml(file.label)}:${row[0]}</a></td>` +
      `<td class="num">${formatMetric(app.metric, row[column])}</td><td class="num">${share}</td>` +
      `<td class="text snippet">${code}</td></tr>`;
  }).join("");
  return `<section class="hottest-lines"><h2>Hottest lines by ${METRICS[app.metric].label.toLowerCase()}</h2>` +
    `<table class="lines"><tbody>${rows}</tbody></table></section>`;
}

function summaryRow(summary) {
  const where = summary.file ? `${summary.file}:${summary.lineno}` : "";
  return `<tr><td class="text">${groupBadge(summary.group)} ${escapeHtml(summary.name)}</td>` +
    `<td class="text module" title="${escapeHtml(where)}">${escapeHtml(where)}</td>` +
    `<td class="num">${formatCount(summary.calls)}</td><td class="num">${formatCount(summary.hits)}</td>` +
    `<td class="num">${formatDuration(summary.selfNs)}</td>` +
    `<td class="num">${formatDuration(summary.totalNs)}</td></tr>`;
}

function summaryHtml(totals) {
  return `${formatCount(totals.files)} files, ${formatCount(totals.linesRun)} lines run, ` +
    `${formatCount(totals.hits)} line hits, ${formatDuration(totals.selfNs)} in all.`;
}

// Everything under the filter box: the hottest lines, the groups of files, the summarised functions.
function bodyHtml(app) {
  const data = app.data;
  const filter = app.filter.toLowerCase();
  const maxSelf = Math.max(0, ...data.files.map((file) => file.selfNs));
  const columns = [...FILE_COLUMNS, ...app.fileColumns];
  const parts = [];
  const totals = data.totals;
  if (!filter) parts.push(hottestLines(app));
  let shown = 0;
  for (const group of data.groups) {
    const files = data.files.filter((file) => file.group === group.key);
    if (!files.length) continue;
    const visible = sorted(files.filter((file) => matches(filter, file.label, file.path, file.module)), app.sort);
    shown += visible.length;
    const groupSelf = files.reduce((sum, file) => sum + file.selfNs, 0);
    const collapsed = app.collapsed.has(group.key);
    parts.push(`<section class="group${collapsed ? " collapsed" : ""}" data-group="${group.key}">` +
      `<h2><button class="toggle" aria-expanded="${!collapsed}" data-toggle="${group.key}">` +
      `${escapeHtml(group.title)}</button> <span class="group-stats">${formatCount(files.length)} ` +
      `file${files.length === 1 ? "" : "s"}, ${formatDuration(groupSelf)} ` +
      `(${formatPercent(groupSelf, totals.selfNs)})</span></h2>`);
    if (!collapsed) {
      parts.push(`<table class="files"><thead><tr>${headings(columns, app.sort, "files")}</tr></thead><tbody>` +
        visible.map((file) => fileRow(app, file, totals, maxSelf)).join("") + "</tbody></table>");
    }
    parts.push("</section>");
  }
  const summaries = sorted(
    data.summaries.filter((s) => matches(filter, s.name, s.file)), app.summarySort,
  );
  if (data.summaries.length) {
    parts.push(`<section class="summaries"><h2>Summarised per function</h2><p class="note">Code whose ` +
      "lines were not recorded one by one (by default the standard library and site-packages).</p>" +
      `<table class="functions"><thead><tr>${headings(SUMMARY_COLUMNS, app.summarySort, "summaries")}` +
      `</tr></thead><tbody>${summaries.map(summaryRow).join("")}</tbody></table></section>`);
  }
  if (!data.files.length && !data.summaries.length) parts.push('<p class="note">No lines were recorded.</p>');
  else if (filter && !shown && !summaries.length) parts.push('<p class="note none">Nothing matches the filter.</p>');
  return parts.join("");
}

export function renderIndex(container, app) {
  container.innerHTML = `<p class="summary">${summaryHtml(app.data.totals)}</p>` +
    `<p><input id="filter" type="search" placeholder="Filter files and functions" ` +
    `aria-label="Filter files and functions" value="${escapeHtml(app.filter)}"></p><div class="index-body"></div>`;
  const body = container.querySelector(".index-body");
  body.innerHTML = bodyHtml(app);
  // Sorting, filtering and collapsing redraw only what is under the filter box, which keeps its focus.
  const input = container.querySelector("#filter");
  input.addEventListener("input", () => {
    app.filter = input.value;
    body.innerHTML = bodyHtml(app);
  });
  body.addEventListener("click", (event) => {
    const sort = event.target.closest("button.sort");
    const toggle = event.target.closest("button.toggle");
    if (sort) {
      const which = sort.dataset.table === "files" ? "sort" : "summarySort";
      const key = sort.dataset.key;
      const text = ["label", "module", "name", "file"].includes(key);
      const current = app[which];
      app[which] = { key, dir: current.key === key ? -current.dir : (text ? 1 : -1) };
    } else if (toggle) {
      const key = toggle.dataset.toggle;
      if (app.collapsed.has(key)) app.collapsed.delete(key); else app.collapsed.add(key);
    } else {
      return;
    }
    body.innerHTML = bodyHtml(app);
  });
}

// Newer numbers for the index on display (the live view's next snapshot): the rows, groups and
// totals change in place; the reader's sort, filter, collapsed groups, focus and scroll stay.
export function updateIndex(container, app) {
  const body = container.querySelector(".index-body");
  if (!body) return renderIndex(container, app);
  const summary = container.querySelector("p.summary");
  const text = summaryHtml(app.data.totals);
  if (summary.textContent !== text) summary.textContent = text;
  const fresh = document.createElement("div");
  fresh.innerHTML = bodyHtml(app);
  morphChildren(body, fresh);
}
