// The function table: one row per function that ran, with its calls, total, self, average and longest
// call, over all threads and processes or one thread.
//
// The figures come from aggregate.js (functionTotals: the rules of reports/callstats.py). Rows are
// virtualised: the body is as tall as every row together but holds only the rows in view (plus a
// few), so thousands of functions scroll as smoothly as ten. Every column sorts (click its header,
// again to reverse); the filter box keeps the rows whose name or file contains the text (any case).
// Clicking a row highlights the function's slices in the timeline and opens it in the flamegraph.
//
// The totals are built once per thread choice and kept. A big trace's are built in steps (steps.js),
// between the page's other tasks, under a progress message: adding up ten million calls is a few
// hundred milliseconds of work that would otherwise freeze the page. The table appears when they are
// done; sorting and filtering meanwhile are remembered and applied then.

import { allThreads, functionTotals, functionTotalsSteps } from "./aggregate.js";
import { STEPS_FROM, jobWithProgress } from "./steps.js";

const TABLE_ROW_PX = 24;
const TABLE_OVERSCAN_ROWS = 10;
const TABLE_ALL_THREADS = "all";
// Text columns sort as people read: "prog.py:7" before "prog.py:10", case aside.
const TABLE_COLLATOR = new Intl.Collator(undefined, { numeric: true });
const TABLE_GRID = "minmax(180px, 2.2fr) minmax(140px, 1.6fr) repeat(7, minmax(74px, 0.7fr))";

// key: what a row's cell shows and sorts by; numeric columns sort largest first on the first click.
const TABLE_COLUMNS = [
  { key: "name", title: "Function", numeric: false },
  { key: "location", title: "File", numeric: false },
  { key: "calls", title: "Calls", numeric: true },
  { key: "total", title: "Total", numeric: true },
  { key: "totalShare", title: "Total %", numeric: true },
  { key: "self", title: "Self", numeric: true },
  { key: "selfShare", title: "Self %", numeric: true },
  { key: "average", title: "Average", numeric: true },
  { key: "max", title: "Max", numeric: true },
];

export class FunctionTableView {
  constructor(container, trace, app) {
    this.container = container;
    this.trace = trace;
    this.app = app;
    this.threads = allThreads(trace);
    this.built = false;
    this.visible = false;
    this.threadChoice = TABLE_ALL_THREADS;
    this.sortKey = "self";
    this.descending = true;
    this.filterText = "";
    this.selectedFunc = -1;
    this.totals = null; // the chosen threads' totals, null while they are being built
    this.totalsByChoice = new Map(); // thread choice -> totals, each built once
    this.job = null; // the totals being built in steps: {choice, job (steps.js)}
    this.rows = new Int32Array(0); // function ids that ran, in sort order
    this.shown = new Int32Array(0); // the rows that pass the filter
    this.renderPending = false;
    this.locations = trace.functions.map((info) => tableLocation(info));
  }

  show() {
    this.visible = true;
    if (!this.built) this.build();
    this.job?.job.resume();
    this.render();
  }

  // Another tab: totals being built wait (no work for a view no one sees) and go on when shown.
  hide() {
    this.visible = false;
    this.job?.job.pause();
  }

  // The shared search box filters the table too (the table's own box shows the text).
  setSearch(text) {
    this.filterText = text.trim().toLowerCase();
    // Before the first show there are no rows to count: the count comes with the build.
    if (this.built) {
      this.filterInput.value = text.trim();
      this.applyFilter();
    }
  }

  // What the table shows, as text: the header and the rows in view (for tests and copying).
  visibleRows() {
    return [...this.body.querySelectorAll(".pt-table-row")].map((row) => ({
      func: Number(row.dataset.func),
      cells: [...row.children].map((cell) => cell.textContent),
    }));
  }

  build() {
    this.built = true;
    this.root = document.createElement("div");
    this.root.className = "pt-table";
    this.root.style.cssText = "display:flex;flex-direction:column;height:100%;min-height:0;";
    this.root.append(this.buildToolbar());
    this.scroller = document.createElement("div");
    this.scroller.className = "pt-table-scroll";
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "grid");
    this.scroller.setAttribute("aria-label", "Functions");
    this.scroller.style.cssText = "flex:1 1 auto;min-height:0;overflow:auto;position:relative;";
    this.head = this.buildHeader();
    this.body = document.createElement("div");
    this.body.className = "pt-table-body";
    this.body.setAttribute("role", "rowgroup");
    this.body.style.position = "relative";
    this.scroller.append(this.head, this.body);
    this.progress = document.createElement("div");
    this.progress.className = "pt-table-progress";
    this.progress.setAttribute("role", "status");
    this.progress.hidden = true;
    this.root.append(this.progress, this.scroller);
    this.container.append(this.root);
    this.scroller.addEventListener("scroll", () => this.scheduleRender());
    this.scroller.addEventListener("keydown", (event) => this.onKey(event));
    this.body.addEventListener("click", (event) => {
      const row = event.target.closest(".pt-table-row");
      if (row !== null) this.activate(Number(row.dataset.func));
    });
    new ResizeObserver(() => this.scheduleRender()).observe(this.scroller);
    this.filterInput.value = this.filterText;
    this.chooseThread(TABLE_ALL_THREADS);
  }

  buildToolbar() {
    const bar = document.createElement("div");
    bar.className = "pt-table-toolbar";
    this.filterInput = document.createElement("input");
    this.filterInput.type = "search";
    this.filterInput.className = "pt-table-filter";
    this.filterInput.placeholder = "Filter by name or file";
    this.filterInput.setAttribute("aria-label", "Filter functions by name or file");
    this.filterInput.spellcheck = false;
    this.filterInput.addEventListener("input", () => {
      this.filterText = this.filterInput.value.trim().toLowerCase();
      this.applyFilter();
    });
    const label = document.createElement("label");
    label.textContent = "Thread ";
    this.threadPicker = document.createElement("select");
    this.threadPicker.className = "pt-table-thread";
    this.threadPicker.append(new Option(`All threads (${this.threads.length})`, TABLE_ALL_THREADS));
    const several = this.trace.processes.length > 1;
    this.threads.forEach((thread, index) => {
      const owner = several ? `pid ${thread.pid}: ` : "";
      this.threadPicker.append(new Option(owner + this.app.threadLabel(thread), String(index)));
    });
    this.threadPicker.addEventListener("change", () => this.chooseThread(this.threadPicker.value));
    label.append(this.threadPicker);
    this.countLabel = document.createElement("span");
    this.countLabel.className = "pt-table-count";
    this.countLabel.setAttribute("aria-live", "polite");
    bar.append(this.filterInput, label, this.countLabel);
    return bar;
  }

  buildHeader() {
    const head = document.createElement("div");
    head.className = "pt-table-head";
    head.setAttribute("role", "row");
    head.style.cssText = `display:grid;grid-template-columns:${TABLE_GRID};position:sticky;top:0;z-index:1;`;
    head.style.height = `${TABLE_ROW_PX}px`;
    this.headers = {};
    for (const column of TABLE_COLUMNS) {
      const cell = document.createElement("button");
      cell.type = "button";
      cell.className = `pt-table-header${column.numeric ? " numeric" : ""}`;
      cell.setAttribute("role", "columnheader");
      cell.dataset.key = column.key;
      cell.textContent = column.title;
      cell.addEventListener("click", () => this.sortBy(column.key));
      this.headers[column.key] = cell;
      head.append(cell);
    }
    return head;
  }

  // Show the totals of a thread choice, adding them up on first use: at once when small, else in steps
  // (totals still being built for another choice are dropped: that choice was left).
  chooseThread(choice) {
    this.threadChoice = choice;
    this.threadPicker.value = choice;
    if (this.job !== null && this.job.choice !== choice) {
      this.job.job.cancel();
      this.job = null;
    }
    const known = this.totalsByChoice.get(choice);
    if (known !== undefined) {
      this.useTotals(known);
      return;
    }
    const threads = choice === TABLE_ALL_THREADS ? this.threads : [this.threads[Number(choice)]];
    const slices = threads.reduce((sum, thread) => sum + thread.slices.count, 0);
    if (slices < STEPS_FROM) { // at once, with no progress message to flash
      const totals = functionTotals(this.trace, threads);
      this.totalsByChoice.set(choice, totals);
      this.useTotals(totals);
      return;
    }
    if (this.job === null) this.startJob(choice, threads, slices);
    this.totals = null;
    this.rows = new Int32Array(0);
    this.scroller.hidden = true;
    this.sortRows();
  }

  startJob(choice, threads, slices) {
    const of = choice === TABLE_ALL_THREADS ? "all threads" : this.app.threadLabel(threads[0]);
    const label = `Adding up the calls of ${of} (${slices.toLocaleString("en-US")} calls)`;
    const job = jobWithProgress(functionTotalsSteps(this.trace, threads), this.progress, label, (totals) => {
      this.totalsByChoice.set(choice, totals);
      this.job = null;
      this.useTotals(totals);
    });
    if (!this.visible) job.pause();
    this.job = { choice, job };
  }

  useTotals(totals) {
    this.totals = totals;
    this.progress.hidden = true;
    this.scroller.hidden = false;
    // The shares are of the time the chosen threads spent in any recorded call.
    let busy = 0;
    for (let f = 0; f < this.totals.count; f++) busy += this.totals.self[f];
    this.busyNs = busy;
    const ran = [];
    for (let f = 0; f < this.totals.count; f++) if (this.totals.ran[f]) ran.push(f);
    this.rows = Int32Array.from(ran);
    this.sortRows();
  }

  sortBy(key) {
    if (key === this.sortKey) {
      this.descending = !this.descending;
    } else {
      this.sortKey = key;
      this.descending = TABLE_COLUMNS.find((column) => column.key === key).numeric;
    }
    this.sortRows();
  }

  sortRows() {
    const value = this.sortValue(this.sortKey);
    const names = this.trace.functions;
    const direction = this.descending ? -1 : 1;
    const text = TABLE_COLLATOR.compare;
    const compare = !TABLE_COLUMNS.find((column) => column.key === this.sortKey).numeric
      ? (a, b) => direction * text(value(a), value(b))
      : (a, b) => direction * (value(a) - value(b));
    // Ties fall back to the name, then the id, so the order never depends on the previous one.
    const sorted = Array.from(this.rows).sort((a, b) => compare(a, b) || text(names[a].name, names[b].name) || a - b);
    this.rows = Int32Array.from(sorted); // no rows while the totals are being built: sorted when done
    for (const [key, cell] of Object.entries(this.headers)) {
      const active = key === this.sortKey;
      const arrow = this.descending ? " ▼" : " ▲";
      const column = TABLE_COLUMNS.find((c) => c.key === key);
      cell.textContent = column.title + (active ? arrow : "");
      cell.setAttribute("aria-sort", active ? (this.descending ? "descending" : "ascending") : "none");
    }
    this.applyFilter();
  }

  // A function's sort key for a column.
  sortValue(key) {
    const t = this.totals;
    const functions = this.trace.functions;
    switch (key) {
      case "name":
        return (f) => functions[f].name;
      case "location":
        return (f) => this.locations[f];
      case "calls":
        return (f) => t.calls[f];
      case "total":
      case "totalShare":
        return (f) => t.total[f];
      case "self":
      case "selfShare":
        return (f) => t.self[f];
      case "average":
        return (f) => tableAverage(t, f);
      case "max":
        return (f) => t.max[f];
      default:
        throw new Error(`unknown column ${key}`);
    }
  }

  applyFilter() {
    const text = this.filterText;
    if (!text) {
      this.shown = this.rows;
    } else {
      const functions = this.trace.functions;
      this.shown = this.rows.filter((f) => tableMatches(functions[f], this.locations[f], text));
    }
    const all = this.rows.length.toLocaleString("en-US");
    const shown = this.shown.length.toLocaleString("en-US");
    if (this.totals === null) {
      // Nothing to count in yet: say so rather than "0" (null is "still counting" to the app).
      this.countLabel.textContent = text ? "counting…" : "";
      this.app.setMatchCount(this, text ? null : 0);
    } else {
      this.countLabel.textContent = text ? `${shown} of ${all} functions` : `${all} functions`;
      this.app.setMatchCount(this, text ? this.shown.length : 0);
    }
    this.body.style.height = `${this.shown.length * TABLE_ROW_PX}px`;
    this.scroller.setAttribute("aria-rowcount", String(this.shown.length + 1));
    this.render();
  }

  scheduleRender() {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.render();
    });
  }

  // Put the rows in view (and a few around them) in the body.
  render() {
    // Hidden while the totals are being built: nothing to lay out (reading the scroller's size would).
    if (!this.visible || !this.built || this.scroller.hidden) return;
    const top = Math.max(0, this.scroller.scrollTop - TABLE_ROW_PX);
    const first = Math.max(0, Math.floor(top / TABLE_ROW_PX) - TABLE_OVERSCAN_ROWS);
    const inView = Math.ceil(this.scroller.clientHeight / TABLE_ROW_PX) + 2 * TABLE_OVERSCAN_ROWS;
    const last = Math.min(this.shown.length, first + inView);
    const rows = [];
    for (let index = first; index < last; index++) rows.push(this.buildRow(this.shown[index], index));
    this.body.replaceChildren(...rows);
  }

  buildRow(f, index) {
    const t = this.totals;
    const info = this.trace.functions[f];
    const format = (ns) => this.app.formatDuration(ns);
    const row = document.createElement("div");
    row.className = `pt-table-row${f === this.selectedFunc ? " selected" : ""}`;
    row.setAttribute("role", "row");
    row.setAttribute("aria-rowindex", String(index + 2));
    row.setAttribute("aria-selected", String(f === this.selectedFunc));
    row.dataset.func = String(f);
    row.style.cssText =
      `display:grid;grid-template-columns:${TABLE_GRID};position:absolute;left:0;right:0;` +
      `top:${index * TABLE_ROW_PX}px;height:${TABLE_ROW_PX}px;cursor:pointer;`;
    const cells = [
      [info.name, false, info.name],
      [this.locations[f], false, info.kind === 1 ? "a C function" : `${info.filename}:${info.lineno}`],
      [t.calls[f].toLocaleString("en-US"), true, `${t.slices[f].toLocaleString("en-US")} slices`],
      [format(t.total[f]), true, `${t.total[f].toLocaleString("en-US")} ns`],
      [tableShare(t.total[f], this.busyNs), true, "of the time in calls"],
      [format(t.self[f]), true, `${t.self[f].toLocaleString("en-US")} ns`],
      [tableShare(t.self[f], this.busyNs), true, "of the time in calls"],
      [format(tableAverage(t, f)), true, "total / calls"],
      [format(t.max[f]), true, "the longest call"],
    ];
    for (const [text, numeric, title] of cells) {
      const cell = document.createElement("div");
      cell.className = `pt-table-cell${numeric ? " numeric" : ""}`;
      cell.setAttribute("role", "gridcell");
      cell.textContent = text;
      cell.title = title;
      row.append(cell);
    }
    return row;
  }

  // A row chosen by click or Enter: highlight its slices and show it in the flamegraph.
  activate(f) {
    this.select(f);
    this.app.highlightFunction(f);
    this.app.openFunctionInFlamegraph(f);
  }

  select(f) {
    this.selectedFunc = f;
    const index = this.shown.indexOf(f);
    if (index >= 0) {
      const rowTop = index * TABLE_ROW_PX;
      const viewTop = this.scroller.scrollTop;
      const viewBottom = viewTop + this.scroller.clientHeight - TABLE_ROW_PX; // the sticky header
      if (rowTop < viewTop) {
        this.scroller.scrollTop = rowTop;
      } else if (rowTop + TABLE_ROW_PX > viewBottom) {
        this.scroller.scrollTop = rowTop + 2 * TABLE_ROW_PX - this.scroller.clientHeight;
      }
    }
    this.render();
  }

  onKey(event) {
    if (this.shown.length === 0) return;
    const index = this.shown.indexOf(this.selectedFunc);
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / TABLE_ROW_PX) - 2);
    const steps = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (event.key in steps) {
      event.preventDefault();
      const next = index < 0 ? 0 : Math.min(this.shown.length - 1, Math.max(0, index + steps[event.key]));
      this.select(this.shown[next]);
    } else if (event.key === "Enter" && index >= 0) {
      event.preventDefault();
      this.activate(this.selectedFunc);
    }
  }
}

// "file.py:12" for Python functions (the directory is in the cell's title), "(built-in)" for C ones.
function tableLocation(info) {
  if (info.kind === 1 || !info.filename) return "(built-in)";
  const base = info.filename.split(/[\\/]/).pop();
  return info.lineno ? `${base}:${info.lineno}` : base;
}

function tableMatches(info, location, text) {
  return (
    info.name.toLowerCase().includes(text) ||
    info.filename.toLowerCase().includes(text) ||
    location.toLowerCase().includes(text)
  );
}

function tableAverage(totals, f) {
  return totals.calls[f] > 0 ? totals.total[f] / totals.calls[f] : 0;
}

function tableShare(ns, of) {
  if (of <= 0) return "–";
  const percent = (100 * ns) / of;
  return `${percent >= 10 ? percent.toFixed(1) : percent.toFixed(2)}%`;
}
