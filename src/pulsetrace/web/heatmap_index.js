// The heatmap's first page: every recorded file by group (project, standard library,
// site-packages, other) with its numbers, sortable and filterable, then the functions that were
// summarised instead of kept line by line.

import {
  escapeHtml, fileHref, formatCount, formatDuration, formatPercent, groupBadge, heatColour, heatOf,
} from "./heatmap_common.js";

// Columns of the file tables: key into a file entry, heading, how to show it.
const FILE_COLUMNS = [
  { key: "label", title: "File", text: true },
  { key: "module", title: "Module", text: true },
  { key: "linesRun", title: "Lines run", format: formatCount },
  { key: "hits", title: "Hits", format: formatCount },
  { key: "selfNs", title: "Self time", format: formatDuration },
  { key: "share", title: "% of all" },
  { key: "maxTotalNs", title: "Hottest total", format: formatDuration },
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

function fileRow(file, totals, maxSelf) {
  const heat = heatOf(file.selfNs, maxSelf);
  const hottest = file.hottestLine
    ? `<a href="${fileHref(file.path, file.hottestLine)}">line ${file.hottestLine}</a>` : "–";
  return `<tr data-path="${escapeHtml(file.path)}">` +
    `<td class="text"><span class="swatch" style="background:${heatColour(heat)}"></span>` +
    `<a class="file-link" href="${fileHref(file.path)}" title="${escapeHtml(file.path)}">` +
    `${escapeHtml(file.label)}</a></td>` +
    `<td class="text module">${escapeHtml(file.module)}</td>` +
    `<td class="num">${formatCount(file.linesRun)}</td>` +
    `<td class="num">${formatCount(file.hits)}</td>` +
    `<td class="num">${formatDuration(file.selfNs)}</td>` +
    `<td class="num">${formatPercent(file.selfNs, totals.selfNs)}</td>` +
    `<td class="num">${formatDuration(file.maxTotalNs)}</td>` +
    `<td class="num">${hottest}</td></tr>`;
}

function summaryRow(summary) {
  const where = summary.file ? `${summary.file}:${summary.lineno}` : "";
  return `<tr><td class="text">${groupBadge(summary.group)} ${escapeHtml(summary.name)}</td>` +
    `<td class="text module" title="${escapeHtml(where)}">${escapeHtml(where)}</td>` +
    `<td class="num">${formatCount(summary.calls)}</td><td class="num">${formatCount(summary.hits)}</td>` +
    `<td class="num">${formatDuration(summary.selfNs)}</td>` +
    `<td class="num">${formatDuration(summary.totalNs)}</td></tr>`;
}

export function renderIndex(container, app) {
  const data = app.data;
  const filter = app.filter.toLowerCase();
  const maxSelf = Math.max(0, ...data.files.map((file) => file.selfNs));
  const parts = [];
  const totals = data.totals;
  parts.push(`<p class="summary">${formatCount(totals.files)} files, ${formatCount(totals.linesRun)} lines ` +
    `run, ${formatCount(totals.hits)} line hits, ${formatDuration(totals.selfNs)} in all.</p>`);
  parts.push(`<p><input id="filter" type="search" placeholder="Filter files and functions" ` +
    `aria-label="Filter files and functions" value="${escapeHtml(app.filter)}"></p>`);
  let shown = 0;
  for (const group of data.groups) {
    const files = data.files.filter((file) => file.group === group.key);
    if (!files.length) continue;
    const visible = sorted(files.filter((file) => matches(filter, file.label, file.path, file.module)), app.sort);
    shown += visible.length;
    const groupSelf = files.reduce((sum, file) => sum + file.selfNs, 0);
    const collapsed = app.collapsed.has(group.key);
    parts.push(`<section class="group${collapsed ? " collapsed" : ""}" data-group="${group.key}">` +
      `<h2><button class="toggle" aria-expanded="${!collapsed}" data-group="${group.key}">` +
      `${escapeHtml(group.title)}</button> <span class="group-stats">${formatCount(files.length)} ` +
      `file${files.length === 1 ? "" : "s"}, ${formatDuration(groupSelf)} ` +
      `(${formatPercent(groupSelf, totals.selfNs)})</span></h2>`);
    if (!collapsed) {
      parts.push(`<table class="files"><thead><tr>${headings(FILE_COLUMNS, app.sort, "files")}</tr></thead><tbody>` +
        visible.map((file) => fileRow(file, totals, maxSelf)).join("") + "</tbody></table>");
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
  container.innerHTML = parts.join("");

  const input = container.querySelector("#filter");
  input.addEventListener("input", () => {
    app.filter = input.value;
    const at = input.selectionStart;
    app.render();
    const again = document.getElementById("filter");
    again.focus();
    again.setSelectionRange(at, at);
  });
  container.querySelectorAll("button.sort").forEach((button) => button.addEventListener("click", () => {
    const which = button.dataset.table === "files" ? "sort" : "summarySort";
    const key = button.dataset.key;
    const text = ["label", "module", "name", "file"].includes(key);
    const current = app[which];
    app[which] = { key, dir: current.key === key ? -current.dir : (text ? 1 : -1) };
    app.render();
  }));
  container.querySelectorAll("button.toggle").forEach((button) => button.addEventListener("click", () => {
    const key = button.dataset.group;
    if (app.collapsed.has(key)) app.collapsed.delete(key); else app.collapsed.add(key);
    app.render();
  }));
}
