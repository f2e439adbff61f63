// The details panel: everything known about the selected slice (function, place, times, thread,
// arguments and return value) beside the function's source with its line highlighted; or the fields
// of a selected instant, span, object snapshot or counter sample.

import { formatDuration } from "./format.js";
import { FLAG_RESUMED, FLAG_UNFINISHED, FLAG_UNWOUND, FLAG_YIELDED, KIND_C } from "./model.js";

export class DetailsPanel {
  constructor(container, trace, app) {
    this.container = container;
    this.trace = trace;
    this.app = app;
    this.shownToken = 0;
  }

  show(selection) {
    this.shownToken++;
    this.container.replaceChildren();
    if (selection === null) {
      this.container.hidden = true;
      this.app.timeline?.resize();
      return;
    }
    const fields = element("div", "details-fields");
    const source = element("div", "details-source");
    this.container.append(fields, source);
    if (selection.type === "slice") this.showSlice(selection, fields, source);
    else this.showEvent(selection, fields, source);
    const wasHidden = this.container.hidden;
    this.container.hidden = false;
    if (wasHidden) this.app.timeline?.resize();
  }

  showSlice({ thread, index }, fields, source) {
    const slices = thread.slices;
    const func = this.trace.functions[slices.func[index]];
    const duration = slices.end[index] - slices.start[index];
    const location = func.filename ? `${func.filename}:${func.lineno}` : "(none: a C function, or no location recorded)";
    const rows = [
      ["Function", func.name],
      ["File", location],
      ["Start", formatDuration(slices.start[index])],
      ["Duration", formatDuration(duration)],
      ["Self time", formatDuration(selfTime(slices, index))],
      ["Thread", `${this.app.threadLabel(thread)} · pid ${thread.pid}`],
      ["Depth", String(slices.depth[index])],
    ];
    const how = endings(slices.flags[index]);
    if (how) rows.push(["Note", how]);
    const args = thread.args?.get(index);
    if (args !== undefined) rows.push(["Arguments", args === "" ? "(none)" : args]);
    const retval = thread.retvals?.get(index);
    if (retval !== undefined) rows.push(["Return value", retval]);
    fields.append(heading(func.name), table(rows));
    const actions = element("div", "details-actions");
    actions.append(
      button("Highlight all calls", () => this.app.highlightFunction(slices.func[index]), "highlight-calls"),
      button("Zoom to slice", () => this.app.timeline.zoomToSlice(thread, index), "zoom-slice"),
      button("Open in flamegraph", () => this.app.openFunctionInFlamegraph(slices.func[index]), "open-flamegraph"),
    );
    if (this.app.heatmap?.hasFile(func.filename)) { // its file has line statistics
      actions.append(button("Open in heatmap", () => this.app.openInHeatmap(func.filename, func.lineno), "open-heatmap"));
    }
    fields.append(actions);
    this.showSource(func, source);
  }

  async showSource(func, container) {
    const token = this.shownToken;
    if (func.kind === KIND_C || !func.filename) {
      container.append(element("div", "empty", "No source: a function built into Python (C)."));
      return;
    }
    let text = null;
    try {
      text = await this.trace.sourceText(func.filename);
    } catch (error) {
      text = null;
    }
    if (token !== this.shownToken) return; // another selection replaced this one meanwhile
    if (text === null) {
      container.append(element("div", "empty", `The trace holds no source for ${func.filename}.`));
      return;
    }
    const lines = text.split(/\r?\n/);
    const last = functionEnd(lines, func.lineno);
    const pre = element("pre", "source");
    let current = null;
    lines.forEach((line, i) => {
      const number = i + 1;
      const row = element("div", "line");
      if (number === func.lineno) {
        row.classList.add("current");
        current = row;
      } else if (number > func.lineno && number <= last) {
        row.classList.add("body");
      }
      row.append(element("span", "lineno", String(number)), element("span", "text", line || " "));
      pre.append(row);
    });
    container.append(pre);
    if (current !== null) container.scrollTop = Math.max(0, current.offsetTop - 40);
  }

  showEvent(selection, fields, source) {
    const item = selection.item;
    const rows = [["Kind", selection.type]];
    let title = item.name ?? selection.type;
    if (selection.type === "counter") {
      title = selection.counter.name;
      rows.push(["Time", formatDuration(item.ts)]);
      for (const [key, value] of Object.entries(item.values)) rows.push([key, String(value)]);
    } else if (selection.type === "span") {
      rows.push(["Category", item.category], ["Start", formatDuration(item.start)]);
      rows.push(["Duration", formatDuration(item.end - item.start)]);
    } else if (selection.type === "object") {
      const phases = { N: "created", O: "snapshot", D: "destroyed" };
      rows.push(["Event", phases[item.phase] ?? item.phase], ["Object id", String(item.id)]);
      rows.push(["Time", formatDuration(item.ts)], ["Thread", `tid ${item.tid}`]);
    } else {
      rows.push(["Category", item.category], ["Scope", item.scope], ["Time", formatDuration(item.ts)]);
    }
    fields.append(heading(title), table(rows));
    const values = selection.type === "object" ? item.snapshot : item.args;
    if (values && Object.keys(values).length > 0) {
      const label = selection.type === "object" ? "Snapshot" : "Arguments";
      const entries = Object.entries(values).map(([key, value]) => [key, jsonText(value)]);
      source.append(heading(label), table(entries));
    } else {
      source.append(element("div", "empty", "No arguments."));
    }
  }
}

// A slice's duration minus the durations of its direct children.
export function selfTime(slices, index) {
  const { start, end, parent, depth, count } = slices;
  let total = end[index] - start[index];
  const childDepth = depth[index] + 1;
  for (let j = index + 1; j < count && depth[j] >= childDepth; j++) {
    if (parent[j] === index) total -= end[j] - start[j];
  }
  return total;
}

// The last line of a Python function's body: the lines after its `def` that are more indented.
function functionEnd(lines, lineno) {
  const first = lines[lineno - 1];
  if (first === undefined) return lineno;
  const indent = first.length - first.trimStart().length;
  let last = lineno;
  for (let i = lineno; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    if (line.length - line.trimStart().length <= indent && !/^\s*[)\]}]/.test(line)) break;
    last = i + 1;
  }
  return last;
}

function endings(flags) {
  const notes = [];
  if (flags & FLAG_RESUMED) notes.push("resumed generator/coroutine");
  if (flags & FLAG_YIELDED) notes.push("suspended (yield/await)");
  if (flags & FLAG_UNWOUND) notes.push("ended by an exception");
  if (flags & FLAG_UNFINISHED) notes.push("still running when tracing stopped");
  return notes.join("; ");
}

function jsonText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function heading(text) {
  return element("h2", "", text);
}

function table(rows) {
  const node = element("table");
  for (const [label, value] of rows) {
    const row = element("tr");
    row.append(element("th", "", label), element("td", "", value));
    row.dataset.field = label.toLowerCase().replace(/\s+/g, "-");
    node.append(row);
  }
  return node;
}

function button(label, onClick, name) {
  const node = element("button", "tool-button", label);
  node.type = "button";
  node.dataset.action = name;
  node.addEventListener("click", onClick);
  return node;
}
